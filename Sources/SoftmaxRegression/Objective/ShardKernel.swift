/// A fused pass over a range of rows into one shard's accumulator: what `SoftmaxObjective`
/// runs on each shard. Value and gradient in Float32 (`GradientKernel`) or Double
/// (`PreciseGradientKernel`); Hessian-vector products in Double (`HessianVectorKernel`).
/// Each fills the same flat per-shard value (`PartialSums`), which a `ShardReducer` combines.
protocol ShardKernel: Sendable {
  associatedtype Element: BinaryFloatingPoint & Sendable
  func accumulate(
    rows: Range<Int>, into accumulator: inout PartialSums<Element>.Accumulator,
    scratch: UnsafeMutableBufferPointer<Element>)
}

extension GradientKernel: ShardKernel {}
extension PreciseGradientKernel: ShardKernel {}
