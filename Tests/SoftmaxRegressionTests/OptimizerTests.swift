import Foundation
import Testing
@testable import SoftmaxRegression

/// f(x) = ½ (x − c)ᵀ A (x − c) with A symmetric positive definite: minimiser c, ∇f = A(x − c).
final class Quadratic: DifferentiableFunction {
  let matrix: [[Double]]
  let minimiser: [Double]
  private(set) var evaluations = 0

  init(matrix: [[Double]], minimiser: [Double]) {
    self.matrix = matrix
    self.minimiser = minimiser
  }

  /// diag(1, κ^(1/(n−1)), …, κ) rotated by a fixed orthogonal matrix, so no coordinate is
  /// special: condition number κ.
  static func illConditioned(dimension: Int, condition: Double, seed: UInt64) -> Quadratic {
    var generator = SplitMix64(seed: seed)
    let eigenvalues = (0..<dimension).map { pow(condition, Double($0) / Double(dimension - 1)) }
    // A random orthogonal matrix from Gram–Schmidt on Gaussian columns.
    var basis: [[Double]] = []
    while basis.count < dimension {
      var vector = (0..<dimension).map { _ in Double(generator.nextGaussian()) }
      for other in basis {
        let projection = zip(vector, other).map(*).reduce(0, +)
        vector = zip(vector, other).map { $0 - projection * $1 }
      }
      let norm = vector.map { $0 * $0 }.reduce(0, +).squareRoot()
      basis.append(vector.map { $0 / norm })
    }
    let matrix = (0..<dimension).map { i in
      (0..<dimension).map { j in (0..<dimension).reduce(0.0) { $0 + basis[$1][i] * eigenvalues[$1] * basis[$1][j] } }
    }
    let minimiser = (0..<dimension).map { _ in Double(generator.nextGaussian()) }
    return Quadratic(matrix: matrix, minimiser: minimiser)
  }

  var parameterCount: Int { minimiser.count }

  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Evaluation {
    evaluations += 1
    let offset = (0..<parameterCount).map { parameters[$0] - minimiser[$0] }
    var value = 0.0
    for i in 0..<parameterCount {
      let row = (0..<parameterCount).reduce(0.0) { $0 + matrix[i][$1] * offset[$1] }
      gradient[i] = row
      value += 0.5 * offset[i] * row
    }
    // The statistics carry a function of the point, so a test can tell whose they are.
    return Evaluation(value: value, meanLoss: parameters[0], correctCount: 0, rowCount: 0)
  }
}

/// Rosenbrock's function in 2-D: (1 − x)² + 100 (y − x²)², minimiser (1, 1).
final class Rosenbrock: DifferentiableFunction {
  var parameterCount: Int { 2 }
  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Evaluation {
    let x = parameters[0], y = parameters[1]
    gradient[0] = -2 * (1 - x) - 400 * x * (y - x * x)
    gradient[1] = 200 * (y - x * x)
    return Evaluation(value: (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x), meanLoss: x, correctCount: 0, rowCount: 0)
  }
}

/// Least squares as a mean over rows, f(θ) = (1/m) Σ_i ½ (a_i·θ − b_i)², for SGD.
final class LeastSquares: MiniBatchFunction {
  let rows: [[Double]]
  let targets: [Double]
  private var order: [Int]

  init(rows: [[Double]], targets: [Double]) {
    self.rows = rows
    self.targets = targets
    order = Array(rows.indices)
  }

  var parameterCount: Int { rows[0].count }
  var rowCount: Int { rows.count }

  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Evaluation {
    evaluate(at: parameters, gradient: gradient, positions: 0..<rowCount)
  }

  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>,
    positions: Range<Int>
  ) -> Evaluation {
    for index in 0..<parameterCount { gradient[index] = 0 }
    var value = 0.0
    for position in positions {
      let row = rows[order[position]]
      let residual = (0..<parameterCount).reduce(-targets[order[position]]) { $0 + row[$1] * parameters[$1] }
      value += 0.5 * residual * residual
      for index in 0..<parameterCount { gradient[index] += residual * row[index] }
    }
    let count = Double(positions.count)
    for index in 0..<parameterCount { gradient[index] /= count }
    return Evaluation(value: value / count, meanLoss: parameters[0], correctCount: 0, rowCount: positions.count)
  }

  func shuffleRows(using generator: inout SplitMix64) { order.shuffle(using: &generator) }
}

@Suite("Optimizers on known functions")
struct OptimizerTests {
  static let lbfgs = LBFGS(memory: 5, tolerance: 1e-10, objectiveTolerance: 0, maxEpochs: 500)

  func distance(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
  }

  @Test("L-BFGS reaches the minimiser of a well-conditioned quadratic")
  func lbfgsQuadratic() {
    let function = Quadratic.illConditioned(dimension: 6, condition: 10, seed: 1)
    let result = Self.lbfgs.minimize(function, from: [Double](repeating: 0, count: 6))
    #expect(result.stopReason == .converged)
    #expect(distance(result.parameters, function.minimiser) < 1e-9)
  }

  // SciPy's L-BFGS-B needs 729 iterations (memory 10) on this kind of problem; ours ~780.
  @Test("L-BFGS reaches the minimiser of a quadratic with condition number 1e4")
  func lbfgsIllConditioned() {
    let function = Quadratic.illConditioned(dimension: 20, condition: 1e4, seed: 2)
    let result = LBFGS(memory: 10, tolerance: 1e-9, objectiveTolerance: 0, maxEpochs: 2000)
      .minimize(function, from: [Double](repeating: 0, count: 20))
    #expect(result.stopReason == .converged)
    #expect(distance(result.parameters, function.minimiser) < 1e-8)
  }

  @Test("L-BFGS with a history of 1 and 2 solves Rosenbrock from (−1.2, 1)")
  func lbfgsRosenbrock() {
    for memory in [1, 2, 10] {
      let result = LBFGS(memory: memory, tolerance: 1e-10, objectiveTolerance: 0, maxEpochs: 5000)
        .minimize(Rosenbrock(), from: [-1.2, 1])
      #expect(result.stopReason == .converged, "memory \(memory)")
      #expect(distance(result.parameters, [1, 1]) < 1e-8, "memory \(memory): \(result.parameters)")
    }
  }

  @Test("gradient descent with a line search reaches the minimiser of a quadratic")
  func gradientDescentQuadratic() {
    let function = Quadratic.illConditioned(dimension: 4, condition: 5, seed: 3)
    let result = GradientDescent(tolerance: 1e-10, maxEpochs: 5000)
      .minimize(function, from: [Double](repeating: 0, count: 4))
    #expect(result.stopReason == .converged)
    #expect(distance(result.parameters, function.minimiser) < 1e-9)
  }

  @Test("gradient descent with a fixed step 1/L converges on a quadratic")
  func gradientDescentFixedStep() {
    let function = Quadratic(matrix: [[2, 0], [0, 1]], minimiser: [3, -1])
    let result = GradientDescent(learningRate: 0.5, tolerance: 1e-10, maxEpochs: 500)
      .minimize(function, from: [0, 0])
    #expect(result.stopReason == .converged)
    #expect(distance(result.parameters, [3, -1]) < 1e-9)
  }

  @Test("SGD approaches the least-squares solution of a consistent system")
  func sgdLeastSquares() {
    var generator = SplitMix64(seed: 5)
    let solution = [1.5, -2.0, 0.5]
    let rows = (0..<200).map { _ in (0..<3).map { _ in Double(generator.nextGaussian()) } }
    let targets = rows.map { row in zip(row, solution).map(*).reduce(0, +) }
    let result = StochasticGradientDescent(
      batchSize: 10, learningRate: 0.05, decay: 0, momentum: 0.5, tolerance: 1e-7, maxEpochs: 300,
      seed: 1
    ).minimize(LeastSquares(rows: rows, targets: targets), from: [0, 0, 0])
    #expect(distance(result.parameters, solution) < 1e-5, "\(result.parameters)")
  }

  @Test("every minimizer reports the evaluation of the point it accepted, not of the last trial")
  func evaluationTravelsWithThePoint() {
    let quadratic = Quadratic.illConditioned(dimension: 3, condition: 100, seed: 6)
    var rows = [[Double]]()
    var generator = SplitMix64(seed: 7)
    for _ in 0..<40 { rows.append((0..<3).map { _ in Double(generator.nextGaussian()) }) }
    let leastSquares = LeastSquares(rows: rows, targets: rows.map { $0[0] - $0[2] })
    var mismatches: [String] = []
    func check(_ name: String) -> (OptimizationProgress) -> Bool {
      { progress in
        // Each test function reports θ[0] as its mean loss.
        if progress.evaluation.meanLoss != progress.parameters[0] { mismatches.append("\(name) epoch \(progress.epoch)") }
        return true
      }
    }
    let start = [4.0, -3, 2]
    _ = LBFGS(memory: 3, tolerance: 1e-9, objectiveTolerance: 0, maxEpochs: 100).minimize(quadratic, from: start, observe: check("lbfgs"))
    _ = GradientDescent(tolerance: 1e-9, maxEpochs: 100).minimize(quadratic, from: start, observe: check("gd"))
    _ = StochasticGradientDescent(batchSize: 8, learningRate: 0.01, decay: 0, momentum: 0, tolerance: 1e-9, maxEpochs: 20, seed: 2)
      .minimize(leastSquares, from: start, observe: check("sgd"))
    #expect(mismatches.isEmpty, "\(mismatches)")
  }

  @Test("an observer that declines epoch 0 stops every minimizer before any step")
  func observerStopsAtStart() {
    let quadratic = Quadratic(matrix: [[1]], minimiser: [2])
    let lbfgs = Self.lbfgs.minimize(quadratic, from: [0]) { _ in false }
    let gd = GradientDescent(tolerance: 1e-9, maxEpochs: 10).minimize(quadratic, from: [0]) { _ in false }
    for result in [lbfgs, gd] {
      #expect(result.stopReason == .stoppedByObserver)
      #expect(result.epochs == 0 && result.parameters == [0])
    }
  }
}

@Suite("L-BFGS history")
struct LBFGSHistoryTests {
  /// The BFGS inverse-Hessian update applied densely, H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ,
  /// from H₀ = γI with γ = sᵀy/yᵀy of the newest pair: what the two-loop recursion computes.
  func denseDirection(pairs: [(s: [Double], y: [Double])], gradient: [Double]) -> [Double] {
    let n = gradient.count
    let newest = pairs.last!
    let gamma = dot(newest.s, newest.y) / dot(newest.y, newest.y)
    var h = (0..<n).map { i in (0..<n).map { j in i == j ? gamma : 0 } }
    for pair in pairs {
      let rho = 1 / dot(pair.s, pair.y)
      let left = (0..<n).map { i in (0..<n).map { j in (i == j ? 1 : 0) - rho * pair.s[i] * pair.y[j] } }
      let product = multiply(multiply(left, h), transpose(left))
      h = (0..<n).map { i in (0..<n).map { j in product[i][j] + rho * pair.s[i] * pair.s[j] } }
    }
    return (0..<n).map { i in -(0..<n).reduce(0.0) { $0 + h[i][$1] * gradient[$1] } }
  }

  func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map(*).reduce(0, +) }
  func transpose(_ m: [[Double]]) -> [[Double]] { (0..<m[0].count).map { j in m.map { $0[j] } } }
  func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
    (0..<a.count).map { i in (0..<b[0].count).map { j in (0..<b.count).reduce(0.0) { $0 + a[i][$1] * b[$1][j] } } }
  }

  func direction(_ history: inout LBFGS.History, _ gradient: [Double]) -> [Double] {
    var direction = gradient
    history.direction(for: gradient, into: &direction)
    return direction
  }

  @Test("the two-loop direction equals the dense BFGS update of the kept pairs")
  func matchesDenseUpdate() {
    // Gradients of an SPD quadratic, so every pair has sᵀy > 0 and is kept.
    let points: [[Double]] = [[0, 0, 0], [1, 0.5, -0.2], [1.4, 0.1, 0.3], [0.9, -0.6, 0.8]]
    let matrix: [[Double]] = [[3, 1, 0], [1, 2, 0.5], [0, 0.5, 1]]
    let gradients = points.map { point in matrix.map { row in dot(row, point) + 0.1 } }
    var history = LBFGS.History(capacity: 2, count: 3)
    var pairs: [(s: [Double], y: [Double])] = []
    for index in 1..<points.count {
      history.append(from: points[index - 1], to: points[index], gradient: gradients[index - 1], newGradient: gradients[index])
      pairs.append((zip(points[index], points[index - 1]).map(-), zip(gradients[index], gradients[index - 1]).map(-)))
    }
    let gradient = [0.3, -0.7, 0.2]
    let expected = denseDirection(pairs: Array(pairs.suffix(2)), gradient: gradient)
    let actual = direction(&history, gradient)
    for (a, e) in zip(actual, expected) { #expect(abs(a - e) <= 1e-12 * max(1, abs(e)), "\(actual) vs \(expected)") }
  }

  @Test("a pair rejected by the curvature check leaves a full history exactly as it was")
  func rejectedPairLeavesHistoryAlone() {
    var history = LBFGS.History(capacity: 2, count: 3)
    history.append(from: [0, 0, 0], to: [1, 0, 0], gradient: [-1, -1, -1], newGradient: [1, -1, -1])
    history.append(from: [1, 0, 0], to: [1, 1, 0], gradient: [1, -1, -1], newGradient: [1, 2, -1])
    #expect(history.storedCount == 2)
    let gradient = [0.5, -0.25, 1.0]
    let before = direction(&history, gradient)
    // sᵀy < 0: this pair must be skipped without touching the stored ones.
    history.append(from: [1, 1, 0], to: [1, 1, 1], gradient: [1, 2, -1], newGradient: [1, 2, -50])
    #expect(history.storedCount == 2)
    let after = direction(&history, gradient)
    #expect(after == before, "\(after) vs \(before)")
    let expected = denseDirection(
      pairs: [([1, 0, 0], [2, 0, 0]), ([0, 1, 0], [0, 3, 0])], gradient: gradient)
    for (a, e) in zip(after, expected) { #expect(abs(a - e) <= 1e-12, "\(after) vs \(expected)") }
  }

  @Test("a history refilled after being cleared keeps only the new pairs")
  func refillAfterClear() {
    var history = LBFGS.History(capacity: 3, count: 2)
    history.append(from: [0, 0], to: [1, 0], gradient: [0, 0], newGradient: [5, 0])
    history.append(from: [1, 0], to: [1, 1], gradient: [5, 0], newGradient: [5, 7])
    history.removeAll()
    history.append(from: [0, 0], to: [0, 1], gradient: [0, 0], newGradient: [0, 2])
    #expect(history.storedCount == 1)
    let gradient = [1.0, 1.0]
    let expected = denseDirection(pairs: [([0, 1], [0, 2])], gradient: gradient)
    let actual = direction(&history, gradient)
    for (a, e) in zip(actual, expected) { #expect(abs(a - e) <= 1e-12, "\(actual) vs \(expected)") }
  }
}

@Suite("Line search")
struct LineSearchTests {
  @Test("an accepted step satisfies both strong Wolfe conditions")
  func strongWolfe() {
    let function = Quadratic.illConditioned(dimension: 5, condition: 1000, seed: 11)
    let search = StrongWolfeLineSearch()
    let x = [Double](repeating: 0, count: 5)
    var gradient = x
    let value = evaluate(function, x, &gradient).value
    let direction = gradient.map { -$0 }
    for initialStep in [1e-6, 1e-3, 1.0, 100.0] {
      var trial = x, trialGradient = x
      let outcome = search.search(
        function, from: x, value: value, gradient: gradient, direction: direction,
        initialStep: initialStep, trial: &trial, trialGradient: &trialGradient)
      guard let step = outcome.step, let accepted = outcome.evaluation else {
        Issue.record("no step from \(initialStep)")
        continue
      }
      let slope0 = zip(gradient, direction).map(*).reduce(0, +)
      let slope = zip(trialGradient, direction).map(*).reduce(0, +)
      #expect(accepted.value <= value + 1e-4 * step * slope0)
      #expect(abs(slope) <= 0.9 * abs(slope0))
      #expect(trial == zip(x, direction).map { $0 + step * $1 })
    }
  }

  @Test("a direction that is not a descent direction gives no step, not a trap")
  func notDescent() {
    let function = Quadratic(matrix: [[1]], minimiser: [0])
    var trial = [0.0], trialGradient = [0.0]
    let outcome = StrongWolfeLineSearch().search(
      function, from: [1], value: 0.5, gradient: [1], direction: [1], initialStep: 1,
      trial: &trial, trialGradient: &trialGradient)
    #expect(outcome.step == nil && outcome.evaluations == 0)
  }
}

@Suite("Hessian-vector products")
struct HessianVectorTests {
  @Test("match central differences of the Double gradient", arguments: [(40, 3, 2), (57, 9, 4), (30, 17, 6)])
  func matchFiniteDifferences(shape: (rows: Int, features: Int, classes: Int)) throws {
    let dataset = randomDataset(rows: shape.rows, features: shape.features, classes: shape.classes, seed: UInt64(shape.rows))
    var weights = [Float](repeating: 0, count: shape.rows)
    var generator = SplitMix64(seed: 3)
    for index in weights.indices { weights[index] = Float(0.5 + generator.nextUniform()) }
    let objective = try SoftmaxObjective(
      dataset: dataset, lambda: 0.03, rowWeights: weights, executor: ShardedExecutor(threadCount: 2))
    try expectFiniteDifferences(objective)
  }

  @Test("match central differences of the Double gradient with the standardisation folded into the parameters")
  func matchFiniteDifferencesFolded() throws {
    let dataset = try offsetDataset(rows: 45, classes: 3, seed: 2)
    let weights = (0..<45).map { Float(1 + $0 % 3) }
    try expectFiniteDifferences(standardizedObjective(dataset, lambda: 0.03, rowWeights: weights, threads: 2).0)
  }

  func expectFiniteDifferences(_ objective: SoftmaxObjective, sourceLocation: SourceLocation = #_sourceLocation) throws {
    objective.precision = .double
    let layout = objective.layout
    let theta = randomParameters(layout, seed: 5, scale: 0.5)
    let direction = randomParameters(layout, seed: 6, scale: 1)
    var product = [Double](repeating: .nan, count: layout.parameterCount)
    theta.withUnsafeBufferPointer { t in
      direction.withUnsafeBufferPointer { d in
        product.withUnsafeMutableBufferPointer { objective.hessianVectorProduct(at: t, direction: d, into: $0) }
      }
    }
    let step = 1e-4
    let plus = objective.valueAndGradient(zip(theta, direction).map { $0 + step * $1 }).1
    let minus = objective.valueAndGradient(zip(theta, direction).map { $0 - step * $1 }).1
    let scale = product.map(abs).max()!
    for index in 0..<layout.parameterCount {
      let difference = (plus[index] - minus[index]) / (2 * step)
      #expect(abs(product[index] - difference) <= 1e-7 * scale, "entry \(index): \(product[index]) vs \(difference)", sourceLocation: sourceLocation)
    }
  }

  @Test("are bit-identical for 1, 2 and 5 threads")
  func deterministic() throws {
    let dataset = randomDataset(rows: 150, features: 7, classes: 3, seed: 8)
    let shards = Shards(rowCount: 150, rowsPerShard: 16)
    let layout = ParameterLayout(classCount: 3, featureCount: 7)
    let theta = randomParameters(layout, seed: 1)
    let direction = randomParameters(layout, seed: 2)
    let products = try [1, 2, 5].map { threads in
      let objective = try SoftmaxObjective(dataset: dataset, lambda: 0.1, shards: shards, executor: ShardedExecutor(threadCount: threads))
      var product = [Double](repeating: 0, count: layout.parameterCount)
      theta.withUnsafeBufferPointer { t in
        direction.withUnsafeBufferPointer { d in
          product.withUnsafeMutableBufferPointer { objective.hessianVectorProduct(at: t, direction: d, into: $0) }
        }
      }
      return product.map(\.bitPattern)
    }
    #expect(products[1] == products[0] && products[2] == products[0])
  }
}
