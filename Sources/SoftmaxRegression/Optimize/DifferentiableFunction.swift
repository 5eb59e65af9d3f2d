/// A smooth function of a flat Float32 parameter vector, as optimizers see it.
///
/// Optimizers know nothing of data, classes or threads: they ask for f(θ) and ∇f(θ) at a
/// point and update θ. One call is one pass over the data for the softmax objective.
public protocol DifferentiableFunction: AnyObject {
  /// The length of the parameter vector θ.
  var parameterCount: Int { get }

  /// Evaluates f(θ) and writes ∇f(θ) into `gradient` (same length as `parameters`).
  /// - Returns: the value f(θ), in Double.
  func evaluate(
    at parameters: UnsafeBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>
  ) -> Double
}
