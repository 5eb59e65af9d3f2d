import Foundation
import Testing
@testable import SoftmaxRegression

extension Quadratic: TwiceDifferentiableFunction {
  func hessianVectorProduct(
    at parameters: UnsafeBufferPointer<Double>, direction: UnsafeBufferPointer<Double>,
    into product: UnsafeMutableBufferPointer<Double>
  ) {
    for i in 0..<parameterCount {
      product[i] = (0..<parameterCount).reduce(0.0) { $0 + matrix[i][$1] * direction[$1] }
    }
  }
}

/// Rosenbrock with its exact Hessian: non-convex, so trust regions and negative curvature
/// are exercised.
final class TwiceRosenbrock: TwiceDifferentiableFunction {
  let plain = Rosenbrock()
  var parameterCount: Int { 2 }
  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Evaluation {
    plain.evaluate(at: parameters, gradient: gradient)
  }
  func hessianVectorProduct(
    at parameters: UnsafeBufferPointer<Double>, direction: UnsafeBufferPointer<Double>,
    into product: UnsafeMutableBufferPointer<Double>
  ) {
    let x = parameters[0], y = parameters[1]
    let xx = 2 - 400 * (y - x * x) + 800 * x * x
    let xy = -400 * x
    product[0] = xx * direction[0] + xy * direction[1]
    product[1] = xy * direction[0] + 200 * direction[1]
  }
}

/// f(x) = eˣ − x (minimum at 0), NaN beyond x = 700: from x = −50 the first Newton step
/// (1/eˣ⁻ ≈ 5·10²¹ long) lands where f is not a number.
final class NaNBeyond: TwiceDifferentiableFunction {
  var parameterCount: Int { 1 }
  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Evaluation {
    let x = parameters[0]
    gradient[0] = x > 700 ? .nan : Foundation.exp(x) - 1
    return Evaluation(value: x > 700 ? .nan : Foundation.exp(x) - x)
  }
  func hessianVectorProduct(
    at parameters: UnsafeBufferPointer<Double>, direction: UnsafeBufferPointer<Double>,
    into product: UnsafeMutableBufferPointer<Double>
  ) {
    product[0] = Foundation.exp(parameters[0]) * direction[0]
  }
}

/// Rows (400 by default) of three Gaussian clusters whose three columns are scaled by 1, 100
/// and 10⁴: ill-conditioned without standardisation.
func badlyScaledClusters(rows: Int = 400) throws -> Dataset {
  let base = try GaussianClusters(rowCount: rows, featureCount: 3, classCount: 3, seed: 4).makeDataset()
  let scales: [Float] = [1, 100, 1e4]
  let rows = (0..<base.rowCount).map { row in (0..<3).map { Float(base.value(row: row, column: $0)) * scales[$0] } }
  return try Dataset(rows: rows, labels: base.labels.map { String($0) })
}

@Suite("Trust-region Newton")
struct NewtonTests {
  @Test("a trial step to a NaN value shrinks the region, and the solve still ends at the minimum")
  func nonFiniteTrial() {
    let result = TrustRegionNewton(tolerance: 1e-10, maxEpochs: 500).minimize(NaNBeyond(), from: [-50])
    #expect(result.stopReason == .converged && abs(result.parameters[0]) < 1e-9, "\(result.stopReason) \(result.parameters)")
  }

  @Test("an ill-conditioned quadratic is solved in a few inexact Newton steps")
  func quadratic() {
    let function = Quadratic.illConditioned(dimension: 12, condition: 1e4, seed: 5)
    let result = TrustRegionNewton(tolerance: 1e-9, maxEpochs: 50).minimize(
      function, from: [Double](repeating: 0, count: 12))
    #expect(result.stopReason == .converged && result.gradientMax <= 1e-9)
    #expect(result.epochs <= 15, "\(result.epochs) epochs")
    #expect(zip(result.parameters, function.minimiser).allSatisfy { abs($0 - $1) < 1e-6 })
  }

  @Test("Rosenbrock's minimum (1, 1) from (−1.2, 1), through negative curvature")
  func rosenbrock() {
    let result = TrustRegionNewton(tolerance: 1e-10, maxEpochs: 200).minimize(TwiceRosenbrock(), from: [-1.2, 1])
    #expect(result.stopReason == .converged)
    #expect(abs(result.parameters[0] - 1) < 1e-8 && abs(result.parameters[1] - 1) < 1e-8, "\(result.parameters)")
  }

  @Test("--solver newton reaches the Newton reference's optimum on raw (unstandardised) data, to the tolerance asked",
    arguments: [1e-3, 1e-5])
  func rawIris(lambda: Double) throws {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    var options = TrainingOptions()
    options.solver = .newton
    options.standardize = false
    options.lambda = lambda
    options.tolerance = 1e-8
    let result = try Trainer(options: options).fit(dataset)
    #expect(result.report.stopReason == .converged && result.report.gradientMax <= 1e-8)
    let newton = NewtonReference(dataset: dataset, lambda: lambda)
    let optimum = newton.objective(newton.solve())
    #expect(abs(result.report.objective - optimum) <= 1e-9 * optimum, "\(result.report.objective) vs \(optimum)")
  }

  @Test("--solver newton on columns of very different scales (1, 100, 10⁴) matches the reference, in at most 6 passes an epoch (the assembled Hessian; with the diagonal stand-in, about 10)")
  func badlyScaled() throws {
    let dataset = try badlyScaledClusters()
    var options = TrainingOptions()
    options.solver = .newton
    options.standardize = false
    options.lambda = 1e-3
    options.tolerance = 1e-8
    let result = try Trainer(options: options).fit(dataset)
    #expect(result.report.stopReason == .converged && result.report.gradientMax <= 1e-8)
    let (epochs, passes) = (result.report.epochs, result.report.passes)
    #expect(epochs <= 20 && passes <= 6 * epochs, "\(epochs) epochs, \(passes) passes")
    let newton = NewtonReference(dataset: dataset, lambda: 1e-3)
    let optimum = newton.objective(newton.solve())
    #expect(abs(result.report.objective - optimum) <= 1e-9 * optimum, "\(result.report.objective) vs \(optimum)")
  }
}

@Suite("SGD block shuffle")
struct BlockShuffleTests {
  @Test("an epoch's order is a permutation of the rows whose blocks of 4,096 stay whole, and differs per epoch")
  func blocksStayWhole() throws {
    let rows = 3 * SoftmaxObjective.shuffleBlockRows + 100
    let dataset = randomDataset(rows: rows, features: 2, classes: 2, seed: 3)
    let objective = try SoftmaxObjective(dataset: dataset, lambda: 0, executor: ShardedExecutor(threadCount: 1))
    var generator = SplitMix64(seed: 7)
    var previous: [Int32] = []
    for _ in 0..<3 {
      objective.shuffleRows(using: &generator)
      let order = objective.currentRowOrder
      #expect(Set(order).count == rows && order.allSatisfy { $0 >= 0 && Int($0) < rows })
      // Cut where the block changes: exactly one run per block, each of its full size.
      let block = order.map { Int($0) / SoftmaxObjective.shuffleBlockRows }
      var runs: [(block: Int, length: Int)] = []
      for value in block {
        if let last = runs.last, last.block == value { runs[runs.count - 1].length += 1 } else { runs.append((value, 1)) }
      }
      #expect(runs.count == 4 && Set(runs.map(\.block)).count == 4)
      #expect(runs.allSatisfy { $0.length == ($0.block == 3 ? 100 : SoftmaxObjective.shuffleBlockRows) })
      #expect(order != previous && order != order.sorted())
      previous = order
    }
  }
}
