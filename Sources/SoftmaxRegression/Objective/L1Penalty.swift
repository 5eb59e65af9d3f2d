/// The non-smooth penalty r(θ) = Σ_i c_i |θ_i| of an elastic net: c_i = λα on the weights,
/// 0 on the bias and the row padding.
///
/// It is not part of the objective's value or gradient (those stay smooth, for every
/// solver): the solver that handles it exactly (`OrthantWiseLBFGS`) adds it. Where r is not
/// differentiable (θ_i = 0) the optimality measure is the minimum-norm subgradient of
/// f + r, the pseudo-gradient ◇ (Andrew & Gao 2007):
///
///     ◇_i = g_i + c_i sign(θ_i)                         θ_i ≠ 0
///     ◇_i = g_i + c_i if < 0, g_i − c_i if > 0, else 0  θ_i = 0
///
/// so "max|∇J| ≤ tolerance" means max|◇| ≤ tolerance for an elastic net.
public struct L1Penalty: Sendable, Equatable {
  /// c_i ≥ 0, one per entry of θ.
  public let strengths: [Double]

  /// c = `lambda` on every weight of `layout`, 0 on the bias and the padding.
  public init(lambda: Double, layout: ParameterLayout) {
    var strengths = [Double](repeating: 0, count: layout.parameterCount)
    for classIndex in 0..<layout.classCount {
      for feature in 0..<layout.featureCount { strengths[classIndex * layout.rowStride + feature] = lambda }
    }
    self.strengths = strengths
  }

  /// Σ c_i |θ_i|.
  public func value(_ parameters: [Double]) -> Double {
    var sum = 0.0
    for index in parameters.indices where strengths[index] != 0 {
      sum += strengths[index] * abs(parameters[index])
    }
    return sum
  }

  /// ◇ at θ, from the smooth part's gradient g.
  public func pseudoGradient(_ parameters: [Double], gradient: [Double]) -> [Double] {
    var result = gradient
    for index in parameters.indices where strengths[index] != 0 {
      let strength = strengths[index]
      if parameters[index] > 0 {
        result[index] += strength
      } else if parameters[index] < 0 {
        result[index] -= strength
      } else if gradient[index] + strength < 0 {
        result[index] += strength
      } else if gradient[index] - strength > 0 {
        result[index] -= strength
      } else {
        result[index] = 0
      }
    }
    return result
  }
}
