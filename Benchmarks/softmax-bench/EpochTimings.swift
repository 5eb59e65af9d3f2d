import SoftmaxRegression

/// The times of full passes (objective and gradient over all rows) at fixed parameters:
/// one warm-up pass, then `epochs` timed ones; and the value and gradient of the last.
struct EpochTimings {
  /// Seconds per timed pass, sorted.
  let seconds: [Double]
  /// Seconds per timed pass spent combining partial sums, sorted.
  let reductionSeconds: [Double]
  /// J at the parameters.
  let value: Double
  /// ∇J at the parameters.
  let gradient: [Double]

  init(_ objective: SoftmaxObjective, at parameters: [Double], epochs: Int) {
    var gradient = [Double](repeating: 0, count: objective.parameterCount)
    var times: [Double] = []
    var reductions: [Double] = []
    var value = 0.0
    let clock = ContinuousClock()
    for epoch in 0...epochs {
      let start = clock.now
      value = parameters.withUnsafeBufferPointer { p in
        gradient.withUnsafeMutableBufferPointer { g in objective.evaluate(at: p, gradient: g).value }
      }
      if epoch > 0 {
        times.append((clock.now - start).seconds)
        reductions.append(objective.lastReductionSeconds)
      }
    }
    seconds = times.sorted()
    reductionSeconds = reductions.sorted()
    self.value = value
    self.gradient = gradient
  }

  /// The median seconds per pass.
  var median: Double { seconds[seconds.count / 2] }
  /// The median seconds per pass spent combining partial sums.
  var reductionMedian: Double { reductionSeconds[reductionSeconds.count / 2] }
  /// The bits of the value and the gradient, to compare runs.
  var bits: [UInt64] { [value.bitPattern] + gradient.map(\.bitPattern) }

  /// Small nonzero weights, so the softmax is not trivially uniform.
  static func startingParameters(_ layout: ParameterLayout) -> [Double] {
    var random = SplitMix64(seed: 1)
    let weights = (0..<(layout.classCount * layout.featureCount)).map { _ in 0.01 * random.nextGaussian() }
    return layout.pack(weights: weights, bias: [Float](repeating: 0, count: layout.classCount))
  }
}
