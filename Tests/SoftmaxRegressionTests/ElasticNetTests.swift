import Foundation
import Testing
@testable import SoftmaxRegression

/// The elastic net's optimum by an independent route: the smooth reformulation W = P − N with
/// P, N ≥ 0,
///
///     F(P, N, b) = data(P − N, b) + λα Σ(P + N) + λ(1−α)/2 ‖P − N‖²,
///
/// minimized in Double by a projected Newton method (Bertsekas 1982): Newton steps on the
/// variables off their bounds, projected steps on the others, an Armijo search along the
/// projection arc. Variables that end on their bound are exactly 0.
struct ElasticNetReference {
  /// The data term plus λ(1−α)/2 ‖W‖² (`NewtonReference` with λ(1−α)).
  let smooth: NewtonReference
  /// λα.
  let l1: Double

  var classCount: Int { smooth.classCount }
  var featureCount: Int { smooth.width - 1 }
  /// z per class: P (D), N (D), b.
  var blockWidth: Int { 2 * featureCount + 1 }

  /// θ in `NewtonReference`'s layout: W = P − N, then b.
  func theta(_ z: [Double]) -> [Double] {
    (0..<classCount).flatMap { k -> [Double] in
      let base = k * blockWidth
      return (0..<featureCount).map { z[base + $0] - z[base + featureCount + $0] } + [z[base + 2 * featureCount]]
    }
  }

  func value(_ z: [Double]) -> Double {
    var l1Sum = 0.0
    for k in 0..<classCount { for j in 0..<(2 * featureCount) { l1Sum += z[k * blockWidth + j] } }
    return smooth.objective(theta(z)) + l1 * l1Sum
  }

  /// Whether z's entry `index` is bounded below by 0 (P and N are; b is free).
  func isBounded(_ index: Int) -> Bool { index % blockWidth != 2 * featureCount }

  /// θ at the optimum.
  func solve() -> [Double] {
    let size = classCount * blockWidth
    var z = [Double](repeating: 0, count: size)
    for _ in 0..<200 {
      let (gradientTheta, hessianTheta) = smooth.derivatives(theta(z))
      // z index → (θ index, sign).
      let map: [(Int, Double)] = (0..<size).map { index in
        let (k, j) = index.quotientAndRemainder(dividingBy: blockWidth)
        if j == 2 * featureCount { return (k * smooth.width + featureCount, 1) }
        return j < featureCount ? (k * smooth.width + j, 1) : (k * smooth.width + j - featureCount, -1)
      }
      let gradient = (0..<size).map { index in
        map[index].1 * gradientTheta[map[index].0] + (isBounded(index) ? l1 : 0)
      }
      let projected = (0..<size).map { isBounded($0) && z[$0] <= 0 ? min(gradient[$0], 0) : gradient[$0] }
      let size0 = projected.map(abs).max()!
      if size0 <= 1e-13 { break }
      let epsilon = min(1e-8, size0)
      let active = (0..<size).map { isBounded($0) && z[$0] <= epsilon && gradient[$0] > 0 }
      let free = (0..<size).filter { !active[$0] }
      let system = free.map { i in
        free.map { j in map[i].1 * map[j].1 * hessianTheta[map[i].0][map[j].0] + (i == j ? 1e-10 : 0) }
      }
      let freeStep = system.isEmpty ? [] : smooth.solveLinear(system, free.map { -gradient[$0] })
      var direction = (0..<size).map { -gradient[$0] }
      for (position, index) in free.enumerated() { direction[index] = freeStep[position] }
      let current = value(z)
      var step = 1.0
      while step > 1e-20 {
        let trial = (0..<size).map { isBounded($0) ? max(0, z[$0] + step * direction[$0]) : z[$0] + step * direction[$0] }
        let predicted = (0..<size).reduce(0.0) { $0 + gradient[$1] * (trial[$1] - z[$1]) }
        if value(trial) <= current + 1e-4 * predicted {
          z = trial
          break
        }
        step /= 2
      }
    }
    return theta(z)
  }
}

@Suite("Elastic net")
struct ElasticNetTests {
  /// Options for an elastic net with λ and α, tight tolerance.
  func options(lambda: Double, l1Ratio: Double, standardize: Bool) -> TrainingOptions {
    var options = TrainingOptions()
    options.lambda = lambda
    options.l1Ratio = l1Ratio
    options.standardize = standardize
    options.tolerance = 1e-9
    options.maxEpochs = 10_000
    return options
  }

  @Test("iris, standardised and raw, α = 0.5 and 1: converged (OWL-QN, and Newton on the orthant's face where OWL-QN stalls), J within 1e-9 of the reformulation's optimum, the same weights exactly zero, the rest within 1e-5",
    arguments: [(0.5, true), (1.0, true), (0.5, false), (1.0, false)])
  func matchesReference(l1Ratio: Double, standardize: Bool) throws {
    let weightTolerance = 1e-5
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    let lambda = 0.02
    let result = try Trainer(options: options(lambda: lambda, l1Ratio: l1Ratio, standardize: standardize)).fit(dataset)
    let standardization = result.model.standardization
    let reference = ElasticNetReference(
      smooth: NewtonReference(dataset: dataset, lambda: lambda * (1 - l1Ratio), standardization: standardization),
      l1: lambda * l1Ratio)
    let optimum = reference.solve()
    let optimalValue = reference.value(zFrom(optimum, reference))
    #expect([.owlqn, .newton].contains(result.report.solver))
    #expect(result.report.stopReason == .converged && result.report.gradientMax <= 1e-9)
    #expect(abs(result.report.objective - optimalValue) <= 1e-9 * optimalValue, "\(result.report.objective) vs \(optimalValue)")
    // The model keeps its weights in θ's coordinates (standardised ones when standardising).
    let width = reference.smooth.width
    var zeros = 0
    for k in 0..<dataset.classCount {
      for j in 0..<dataset.featureCount {
        let weight = Double(result.model.weights[k * dataset.featureCount + j])
        let expected = optimum[k * width + j]
        #expect((weight == 0) == (expected == 0), "class \(k) feature \(j): \(weight) vs \(expected)")
        #expect(abs(weight - expected) <= weightTolerance * max(1, abs(expected)), "class \(k) feature \(j): \(weight) vs \(expected)")
        if expected == 0 { zeros += 1 }
      }
    }
    #expect(zeros > 0 && zeros < dataset.classCount * dataset.featureCount, "\(zeros) zero weights: the test needs some, not all")
    #expect(result.report.nonzeroWeights == result.model.nonzeroWeightCounts)
    #expect(result.report.nonzeroWeights.reduce(0, +) == dataset.classCount * dataset.featureCount - zeros)
  }

  /// z = (P, N, b) from θ: P = max(W, 0), N = max(−W, 0).
  private func zFrom(_ theta: [Double], _ reference: ElasticNetReference) -> [Double] {
    let width = reference.smooth.width
    return (0..<reference.classCount).flatMap { k -> [Double] in
      let weights = (0..<reference.featureCount).map { theta[k * width + $0] }
      return weights.map { max($0, 0) } + weights.map { max(-$0, 0) } + [theta[k * width + reference.featureCount]]
    }
  }

  @Test("the pseudo-gradient is the minimum-norm subgradient: g ± c off zero, shrunk toward 0 at zero")
  func pseudoGradient() {
    let layout = ParameterLayout(classCount: 2, featureCount: 1)
    let penalty = L1Penalty(lambda: 0.5, layout: layout)
    var theta = [Double](repeating: 0, count: layout.parameterCount)
    var gradient = theta
    theta[0] = 2; gradient[0] = 0.1  // positive weight: g + c
    theta[layout.rowStride] = 0; gradient[layout.rowStride] = 0.3  // at zero, |g| < c: 0
    gradient[layout.biasOffset] = 0.7  // a bias: unpenalised
    let result = penalty.pseudoGradient(theta, gradient: gradient)
    #expect(result[0] == 0.6 && result[layout.rowStride] == 0 && result[layout.biasOffset] == 0.7)
    gradient[layout.rowStride] = -0.8  // at zero, g < −c: g + c
    #expect(abs(penalty.pseudoGradient(theta, gradient: gradient)[layout.rowStride] + 0.3) < 1e-15)
    #expect(penalty.value(theta) == 1)
  }

  @Test("an elastic net's model is byte-identical for 1, 2, 3 and 8 threads, and so is auto's hand-over to newton")
  func deterministic() throws {
    let dataset = try badlyScaledClusters(rows: 2100)
    #expect(Shards(rowCount: dataset.rowCount).count == 3)
    for (l1Ratio, expected) in [(0.5, TrainingOptions.Solver.owlqn), (0, .newton)] {
      let fits = try [1, 2, 3, 8].map { threads in
        var options = options(lambda: 1e-3, l1Ratio: l1Ratio, standardize: l1Ratio > 0)
        options.maxEpochs = 10
        options.threadCount = threads
        return try Trainer(options: options).fit(dataset)
      }
      #expect(fits.allSatisfy { $0.report.solver == expected })
      let files = try fits.map { try $0.model.fileBytes() }
      for file in files.dropFirst() { #expect(file == files[0]) }
    }
  }

  @Test("l1-ratio outside [0, 1], or with a solver other than auto and owlqn, is refused by name")
  func optionRules() {
    var options = TrainingOptions()
    options.l1Ratio = 1.5
    #expect(throws: TrainingError.self) { try options.validate() }
    options.l1Ratio = 0.5
    for solver in [TrainingOptions.Solver.lbfgs, .newton, .gd, .sgd] {
      options.solver = solver
      do {
        try options.validate()
        Issue.record("\(solver) accepted an L1 term")
      } catch {
        #expect(error.description.contains("l1-ratio") && error.description.contains("owlqn"))
      }
    }
    options.solver = .owlqn
    #expect(throws: Never.self) { try options.validate() }
  }
}
