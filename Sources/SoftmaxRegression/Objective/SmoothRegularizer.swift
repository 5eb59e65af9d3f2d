/// The smooth penalty r(θ) of an objective, added once after the shards are reduced:
/// J(θ) = data term + r(θ).
///
/// Only the smooth part lives here. A non-smooth part (the L1 term of an elastic net) is
/// the business of the solver that handles it exactly (OWL-QN, proximal steps), which sees
/// it separately from this.
public protocol SmoothRegularizer: Sendable {
  /// r(θ).
  func value(_ parameters: UnsafeBufferPointer<Double>) -> Double
  /// gradient += ∇r(θ).
  func addGradient(
    _ parameters: UnsafeBufferPointer<Double>, into gradient: UnsafeMutableBufferPointer<Double>)
  /// product += ∇²r(θ) · direction.
  func addHessianVectorProduct(
    _ direction: UnsafeBufferPointer<Double>, into product: UnsafeMutableBufferPointer<Double>)
}
