/// A smooth function of a flat parameter vector, as optimizers see it.
///
/// Optimizers know nothing of data, classes or threads: they ask for f(θ) and ∇f(θ) at a
/// point and update θ. They keep θ in Double, so steps far below Float32's resolution still
/// move it; the function decides the precision it computes in (the softmax objective uses
/// Float32 kernels, or Double ones to finish). One call is one pass over the data.
public protocol DifferentiableFunction: AnyObject {
  /// The length of the parameter vector θ.
  var parameterCount: Int { get }

  /// Evaluates f(θ) and writes ∇f(θ) into `gradient` (same length as `parameters`).
  /// - Returns: the value f(θ).
  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Double
}
