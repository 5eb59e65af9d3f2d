import Foundation
import Testing
@testable import SoftmaxRegression

/// θ in `NewtonReference`'s compact order (class k's weights, then its bias).
private func compact(_ theta: [Double], _ layout: ParameterLayout) -> [Double] {
  (0..<layout.classCount).flatMap { k in
    (0..<layout.featureCount).map { theta[k * layout.rowStride + $0] } + [theta[layout.biasOffset + k]]
  }
}

/// A point in θ's layout with Double (not Float32) entries.
private func doublePoint(_ layout: ParameterLayout, seed: UInt64) -> [Double] {
  var random = SplitMix64(seed: seed)
  var theta = [Double](repeating: 0, count: layout.parameterCount)
  for k in 0..<layout.classCount {
    for j in 0..<layout.featureCount { theta[k * layout.rowStride + j] = 0.3 * Double(random.nextGaussian()) }
    theta[layout.biasOffset + k] = 0.3 * Double(random.nextGaussian())
  }
  return theta
}

@Suite("Assembled Hessian")
struct HessianAssemblyTests {
  /// 61 rows of 5 features, 4 classes; every third row left out, weights 0.5…2.
  let dataset = randomDataset(rows: 91, features: 5, classes: 4, seed: 21, scale: 3)
  var rows: [Int32] { (0..<91).filter { $0 % 3 != 1 }.map(Int32.init) }
  var weights: [Float] { (0..<91).map { Float(0.5 + Double($0 % 7) * 0.25) } }

  /// The reference problem: the objective's rows carry their weights, the others weight 0.
  func reference(lambda: Double, standardization: Standardization?) -> NewtonReference {
    let included = Set(rows)
    let referenceWeights = (0..<91).map { included.contains(Int32($0)) ? weights[$0] : 0 }
    return NewtonReference(
      dataset: dataset, lambda: lambda, weights: referenceWeights, standardization: standardization)
  }

  func objective(lambda: Double, standardization: Standardization, threads: Int) throws -> SoftmaxObjective {
    let layout = ParameterLayout(classCount: dataset.classCount, featureCount: dataset.featureCount)
    return try SoftmaxObjective(
      dataset: dataset, regularizer: L2Penalty(lambda: lambda, layout: layout), rows: rows,
      rowWeights: weights, shards: nil, executor: ShardedExecutor(threadCount: threads),
      reducer: ShardOrderReducer(),
      scaling: FeatureScaling(encoding: dataset.encoding, standardization: standardization))
  }

  @Test("the data term's Hessian, assembled over a row subset with weights and standardisation, equals the reference's; bit-identical for 1 and 3 threads")
  func matchesReference() throws {
    let standardization = Standardization(fitting: dataset)
    let layout = ParameterLayout(classCount: 4, featureCount: 5)
    let theta = doublePoint(layout, seed: 3)
    var matrices: [[Double]] = []
    for threads in [1, 3] {
      let assembler = HessianAssembler(
        features: dataset.features, layout: layout, rows: rows, rowWeights: weights,
        scaling: FeatureScaling(encoding: dataset.encoding, standardization: standardization))
      matrices.append(assembler.assemble(at: theta, on: ShardedExecutor(threadCount: threads)))
    }
    #expect(matrices[0] == matrices[1])
    let expected = reference(lambda: 0, standardization: standardization).derivatives(compact(theta, layout)).hessian
    let order = 4 * 6
    let largest = expected.joined().map(abs).max()!
    var worst = 0.0
    for row in 0..<order {
      for column in 0..<order {
        let shift = row == column && row % 6 == 5 ? 1e-12 : 0  // the reference's bias shift
        worst = max(worst, abs(matrices[0][row * order + column] - (expected[row][column] - shift)))
      }
    }
    #expect(worst <= 1e-13 * largest, "worst difference \(worst), largest entry \(largest)")
  }

  @Test("the preconditioner at θ solves the Newton system: M⁻¹∇J is the reference's Newton step (up to the biases' common shift)",
    arguments: [1e-3, 0])
  func preconditionerIsNewtonStep(lambda: Double) throws {
    let standardization = Standardization(fitting: dataset)
    let objective = try objective(lambda: lambda, standardization: standardization, threads: 2)
    objective.precision = .double
    let layout = objective.layout
    let theta = doublePoint(layout, seed: 8)
    var gradient = [Double](repeating: 0, count: layout.parameterCount)
    _ = evaluate(objective, theta, &gradient)
    var solved = [Double](repeating: 0, count: layout.parameterCount)
    let preconditioner = objective.preconditioner(at: theta)
    #expect(preconditioner is CholeskyPreconditioner)
    preconditioner.solve(gradient, into: &solved)

    let newton = reference(lambda: lambda, standardization: standardization)
    let (referenceGradient, hessian) = newton.derivatives(compact(theta, layout))
    #expect(zip(compact(gradient, layout), referenceGradient).allSatisfy { abs($0 - $1) <= 1e-12 })
    // With λ = 0 the weights have flat directions too: the reference's Hessian is singular
    // there, so compare M·(M⁻¹∇J) = ∇J through the reference's Hessian instead.
    let step = compact(solved, layout)
    if lambda > 0 {
      let expected = newton.solveLinear(hessian, referenceGradient)
      let difference = zip(removingBiasShift(step), removingBiasShift(expected)).map { abs($0 - $1) }.max()!
      #expect(difference <= 1e-8 * expected.map(abs).max()!, "difference \(difference)")
    }
    let product = hessian.map { row in zip(row, step).reduce(0) { $0 + $1.0 * $1.1 } }
    let residual = zip(product, referenceGradient).map { abs($0 - $1) }.max()!
    #expect(residual <= 1e-9 * referenceGradient.map(abs).max()!, "residual \(residual)")
  }

  /// The vector with the mean of the biases taken from each bias (the flat direction).
  private func removingBiasShift(_ vector: [Double]) -> [Double] {
    let biases = stride(from: 5, to: vector.count, by: 6).map { vector[$0] }
    let mean = biases.reduce(0, +) / Double(biases.count)
    return vector.enumerated().map { $0.offset % 6 == 5 ? $0.element - mean : $0.element }
  }

  @Test("Cholesky: solves a random positive definite system; a singular one is factored with a small shift")
  func cholesky() throws {
    var random = SplitMix64(seed: 4)
    let n = 13
    let factor = (0..<(n * n)).map { _ in Double(random.nextGaussian()) }
    var matrix = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { for k in 0..<n { matrix[i * n + j] += factor[i * n + k] * factor[j * n + k] } } }
    let solution = (0..<n).map { Double($0) - 6 }
    let right = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + matrix[i * n + $1] * solution[$1] } }
    let cholesky = try #require(CholeskyFactorization(symmetric: matrix, order: n))
    #expect(cholesky.shift == 0)
    #expect(zip(cholesky.solve(right), solution).allSatisfy { abs($0 - $1) <= 1e-9 })

    // Large enough for the panels' rows to be shared out: the same factor on 1 and 3 threads.
    let large = 250
    var spd = [Double](repeating: 0, count: large * large)
    for i in 0..<large {
      for j in 0...i {
        let value = 1 / Double(1 + i + j) + (i == j ? 1 : 0)  // Hilbert-like plus the identity
        spd[i * large + j] = value
        spd[j * large + i] = value
      }
    }
    let target = (0..<large).map { Double($0 % 7) - 3 }
    let right2 = (0..<large).map { i in (0..<large).reduce(0.0) { $0 + spd[i * large + $1] * target[$1] } }
    let serial = try #require(CholeskyFactorization(symmetric: spd, order: large))
    let parallel = try #require(
      CholeskyFactorization(
        symmetric: spd, order: large, executor: ShardedExecutor(threadCount: 3), parallelWork: 1))
    #expect(serial.solve(right2) == parallel.solve(right2))
    #expect(zip(parallel.solve(right2), target).allSatisfy { abs($0 - $1) <= 1e-9 })

    let ones = [Double](repeating: 1, count: 9)  // rank one
    let singular = try #require(CholeskyFactorization(symmetric: ones, order: 3))
    #expect(singular.shift > 0 && singular.shift <= 1e-2)
    #expect(CholeskyFactorization(symmetric: [-1, 0, 0, 1], order: 2) == nil)
    #expect(CholeskyFactorization(symmetric: [.nan, 0, 0, 1], order: 2) == nil)
  }

  @Test("auto: lbfgs to the end on standardised digits; on columns of scales 1, 100 and 10⁴ it hands over to newton early, reaches the tolerance in far fewer passes than lbfgs, and finishes in Double with newton")
  func autoHandsOver() throws {
    let digits = try Dataset(csvAt: dataFile("digits.csv")).subset(Array(0..<300))
    var options = TrainingOptions()
    #expect(options.solver == .auto)
    options.tolerance = 1e-4
    let standardized = try Trainer(options: options).fit(digits).report
    #expect(standardized.solver == .lbfgs && standardized.handoverEpoch == nil)
    #expect(standardized.stopReason == .converged)

    let dataset = try badlyScaledClusters()
    options.standardize = false
    options.lambda = 1e-3
    options.tolerance = 1e-8
    let raw = try Trainer(options: options).fit(dataset).report
    options.solver = .lbfgs
    options.maxEpochs = 100_000
    let lbfgs = try Trainer(options: options).fit(dataset).report
    #expect(raw.solver == .newton && raw.stopReason == .converged && raw.gradientMax <= 1e-8)
    let handover = try #require(raw.handoverEpoch)
    #expect(handover < 30 && raw.passes * 5 < lbfgs.passes, "hand-over after \(handover) epochs, \(raw.passes) passes; lbfgs \(lbfgs.passes)")
    let newton = NewtonReference(dataset: dataset, lambda: 1e-3)
    let optimum = newton.objective(newton.solve())
    #expect(abs(raw.objective - optimum) <= 1e-9 * optimum, "\(raw.objective) vs \(optimum)")
  }

  @Test("converged is checked in Double where Float32 cannot vouch for it: raw columns get one Double pass (the reported max|∇J| is its reading, not Float32's, and meets the tolerance); standardised columns at the default tolerance do not")
  func convergedIsChecked() throws {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    var options = TrainingOptions()
    options.solver = .lbfgs
    options.standardize = false
    options.lambda = 1e-2
    options.tolerance = 1e-4
    let raw = try Trainer(options: options).fit(dataset).report
    let rawLast = try #require(raw.history.last)
    #expect(raw.stopReason == .converged && raw.gradientMax <= 1e-4)
    #expect(raw.passes == rawLast.passes + 1 && raw.gradientMax != rawLast.gradientMax)

    let standardized = try Trainer(options: TrainingOptions()).fit(dataset).report
    let last = try #require(standardized.history.last)
    #expect(standardized.stopReason == .converged)
    #expect(standardized.passes == last.passes && standardized.gradientMax == last.gradientMax)
  }

  @Test("the hand-over rule: predicted passes from the rate max|∇f| fell at so far")
  func predictedPasses() {
    // 1 → 0.01 in 10 passes is 5 passes a decade; 0.01 → 1e-6 is 4 decades more: 20 passes.
    #expect(abs(AutoSolver.predictedPasses(from: 1, to: 0.01, tolerance: 1e-6, after: 10) - 20) < 1e-9)
    #expect(AutoSolver.predictedPasses(from: 1, to: 1, tolerance: 1e-6, after: 10) == .infinity)
  }
}
