import Foundation
import Testing
@testable import SoftmaxRegression

/// The exact optimum of the (weighted) objective by Newton's method in Double, written
/// independently of the library: full Hessian, Gaussian elimination with partial pivoting.
struct NewtonReference {
  let rows: [[Double]]
  let labels: [Int]
  let weights: [Double]
  let classCount: Int
  let lambda: Double

  /// The problem on `dataset`'s values as read, or on their standardisation.
  init(dataset: Dataset, lambda: Double, weights: [Float]? = nil, standardization: Standardization? = nil) {
    rows = (0..<dataset.rowCount).map { row in
      (0..<dataset.featureCount).map { column in
        let value = dataset.value(row: row, column: column)
        return standardization.map { ($0.apply(value, column: column)) } ?? value
      }
    }
    labels = dataset.labels.map(Int.init)
    self.weights = weights.map { $0.map(Double.init) } ?? [Double](repeating: 1, count: dataset.rowCount)
    classCount = dataset.classCount
    self.lambda = lambda
  }

  /// The problem on explicit rows (each weight 1).
  init(rows: [[Double]], labels: [Int], classCount: Int, lambda: Double) {
    self.rows = rows
    self.labels = labels
    self.weights = [Double](repeating: 1, count: rows.count)
    self.classCount = classCount
    self.lambda = lambda
  }

  var width: Int { rows[0].count + 1 }

  /// J at θ = K rows of [w_k, b_k].
  func objective(_ theta: [Double]) -> Double {
    var loss = 0.0
    for (index, x) in rows.enumerated() {
      let logits = self.logits(theta, x)
      let maximum = logits.max()!
      let logSum = log(logits.reduce(0) { $0 + exp($1 - maximum) }) + maximum
      loss += weights[index] * (logSum - logits[labels[index]])
    }
    var penalty = 0.0
    for k in 0..<classCount { for j in 0..<(width - 1) { penalty += theta[k * width + j] * theta[k * width + j] } }
    return loss / weights.reduce(0, +) + 0.5 * lambda * penalty
  }

  func logits(_ theta: [Double], _ x: [Double]) -> [Double] {
    (0..<classCount).map { k in (0..<(width - 1)).reduce(theta[k * width + width - 1]) { $0 + theta[k * width + $1] * x[$1] } }
  }

  /// ∇J and ∇²J at θ (the penalty included; biases get a 1e-12 diagonal shift, as the
  /// objective does not change when one number is added to every bias).
  func derivatives(_ theta: [Double]) -> (gradient: [Double], hessian: [[Double]]) {
    let size = classCount * width
    let totalWeight = weights.reduce(0, +)
    var gradient = [Double](repeating: 0, count: size)
    var hessian = [[Double]](repeating: [Double](repeating: 0, count: size), count: size)
    for (index, x) in rows.enumerated() {
      let z = logits(theta, x)
      let maximum = z.max()!
      let e = z.map { exp($0 - maximum) }
      let p = e.map { $0 / e.reduce(0, +) }
      let xt = x + [1]
      let v = weights[index] / totalWeight
      for k in 0..<classCount {
        let c = p[k] - (k == labels[index] ? 1 : 0)
        for j in 0..<width { gradient[k * width + j] += v * c * xt[j] }
        for l in 0..<classCount {
          let curvature = v * ((k == l ? p[k] : 0) - p[k] * p[l])
          for j in 0..<width { for t in 0..<width { hessian[k * width + j][l * width + t] += curvature * xt[j] * xt[t] } }
        }
      }
    }
    for k in 0..<classCount {
      for j in 0..<(width - 1) {
        gradient[k * width + j] += lambda * theta[k * width + j]
        hessian[k * width + j][k * width + j] += lambda
      }
      hessian[k * width + width - 1][k * width + width - 1] += 1e-12  // biases: shift-invariant
    }
    return (gradient, hessian)
  }

  /// Newton iterations from zero until the step is negligible.
  func solve() -> [Double] {
    let size = classCount * width
    var theta = [Double](repeating: 0, count: size)
    for _ in 0..<60 {
      let (gradient, hessian) = derivatives(theta)
      let step = solveLinear(hessian, gradient)
      for index in 0..<size { theta[index] -= step[index] }
      if step.map(abs).max()! < 1e-13 { break }
    }
    return theta
  }

  func solveLinear(_ matrix: [[Double]], _ vector: [Double]) -> [Double] {
    var a = matrix
    var b = vector
    let n = b.count
    for column in 0..<n {
      let pivot = (column..<n).max { abs(a[$0][column]) < abs(a[$1][column]) }!
      a.swapAt(column, pivot)
      b.swapAt(column, pivot)
      for row in (column + 1)..<n where a[row][column] != 0 {
        let factor = a[row][column] / a[column][column]
        for k in column..<n { a[row][k] -= factor * a[column][k] }
        b[row] -= factor * b[column]
      }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
      let sum = ((row + 1)..<n).reduce(b[row]) { $0 - a[row][$1] * x[$1] }
      x[row] = sum / a[row][row]
    }
    return x
  }

  /// θ in this type's layout from a model trained without standardisation.
  func theta(of model: SoftmaxModel) -> [Double] {
    var theta: [Double] = []
    for k in 0..<classCount {
      theta += (0..<(width - 1)).map { Double(model.weights[k * (width - 1) + $0]) }
      theta.append(Double(model.bias[k]))
    }
    return theta
  }
}

@Suite("Solvers")
struct SolverTests {
  func unstandardized(_ solver: TrainingOptions.Solver, lambda: Double = 1e-4) -> TrainingOptions {
    var options = TrainingOptions()
    options.solver = solver
    options.standardize = false
    options.lambda = lambda
    return options
  }

  @Test("lbfgs reaches the Newton optimum within 1e-6 (relative) on iris and digits-like data, as the trainer sees them",
    arguments: [1e-4, 1e-2])
  func lbfgsIris(lambda: Double) throws {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    var options = TrainingOptions()
    options.lambda = lambda
    let result = try Trainer(options: options).fit(dataset)
    let newton = NewtonReference(
      dataset: dataset, lambda: lambda, standardization: result.model.standardization)
    let optimum = newton.objective(newton.solve())
    let reached = newton.objective(newton.theta(of: result.model))
    #expect(reached - optimum <= 1e-6 * optimum, "gap \(reached - optimum), optimum \(optimum), \(result.report.stopReason)")
    #expect(abs(result.report.objective - reached) <= 1e-6 * optimum, "reported objective matches")
  }

  @Test("lbfgs without standardisation gets within Float32's reach of the optimum on raw iris")
  func lbfgsRawIris() throws {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    let result = try Trainer(options: unstandardized(.lbfgs, lambda: 1e-3)).fit(dataset)
    let newton = NewtonReference(dataset: dataset, lambda: 1e-3)
    let optimum = newton.objective(newton.solve())
    let reached = newton.objective(newton.theta(of: result.model))
    // Raw iris logits reach tens, where Float32 rounding alone moves J by ~1e-6 relative.
    #expect(reached - optimum <= 1e-5 * optimum, "gap \(reached - optimum), optimum \(optimum)")
  }

  @Test("lbfgs reaches the Newton optimum on generated data, with row weights")
  func lbfgsGeneratedWeighted() throws {
    var random = SplitMix64(seed: 3)
    let base = try GaussianClusters(rowCount: 300, featureCount: 5, classCount: 4, seed: 8).makeDataset()
    let weights = (0..<300).map { _ in Float(0.2 + 2 * random.nextUniform()) }
    let rows = (0..<300).map { row in (0..<5).map { Float(base.value(row: row, column: $0)) } }
    let dataset = try Dataset(rows: rows, labels: base.labels.map { String($0) }, weights: weights)
    let result = try Trainer(options: unstandardized(.lbfgs, lambda: 0.01)).fit(dataset)
    let newton = NewtonReference(dataset: dataset, lambda: 0.01, weights: weights)
    let optimum = newton.objective(newton.solve())
    let reached = newton.objective(newton.theta(of: result.model))
    #expect(reached - optimum <= 1e-6 * optimum, "gap \(reached - optimum)")
    let unweighted = NewtonReference(dataset: dataset, lambda: 0.01)
    #expect(abs(unweighted.objective(unweighted.solve()) - optimum) > 1e-4, "weights change the optimum")
  }

  @Test("lbfgs needs far fewer passes than gd for the same optimum (digits in a long run)")
  func lbfgsBeatsGradientDescent() throws {
    // gd needs ~1,300 passes on digits, over a minute in a debug build: the long run takes
    // its first 600 rows (real data, a third of the cost), the quick suite unstandardised
    // generated clusters, where gd needs several hundred cheap passes.
    let dataset: Dataset
    if TestScale.isLong {
      let directory = TemporaryDirectory()
      defer { directory.remove() }
      let lines = try String(contentsOfFile: dataFile("digits.csv"), encoding: .utf8)
        .split(separator: "\n", omittingEmptySubsequences: false)
      let head = directory.path + "/digits-600.csv"
      try (lines.prefix(601).joined(separator: "\n") + "\n").write(toFile: head, atomically: true, encoding: .utf8)
      dataset = try Dataset(csvAt: head)
    } else {
      dataset = try GaussianClusters(rowCount: 600, featureCount: 12, classCount: 4, seed: 9).makeDataset()
    }
    var options = TrainingOptions()
    options.standardize = TestScale.isLong
    let lbfgs = try Trainer(options: options).fit(dataset).report
    options.solver = .gd
    let gd = try Trainer(options: options).fit(dataset).report
    #expect(lbfgs.stopReason == .converged || lbfgs.stopReason == .objectiveConverged)
    #expect(lbfgs.passes * 5 < gd.passes, "lbfgs \(lbfgs.passes) passes, gd \(gd.passes)")
    #expect(lbfgs.objective <= gd.objective + 1e-6)
  }

  @Test("sgd is bit-identical for 1, 2, 3 and 8 threads and gets close to the optimum")
  func sgdDeterministic() throws {
    let dataset = try GaussianClusters(rowCount: 2000, featureCount: 6, classCount: 3, seed: 5).makeDataset()
    var options = TrainingOptions()
    options.solver = .sgd
    options.maxEpochs = 15
    options.batchSize = 200
    options.seed = 11
    let runs = try [1, 2, 3, 8].map { threads in
      options.threadCount = threads
      return try Trainer(options: options).fit(dataset)
    }
    let bytes = try runs.map { try $0.model.fileBytes() }
    for other in bytes.dropFirst() { #expect(other == bytes[0]) }
    options.seed = 12
    #expect(try Trainer(options: options).fit(dataset).model.fileBytes() != bytes[0], "the seed matters")
    options.solver = .lbfgs
    let optimum = try Trainer(options: options).fit(dataset).report.objective
    #expect(runs[0].report.objective <= optimum * 1.05 + 1e-3, "sgd \(runs[0].report.objective) vs \(optimum)")
  }

  @Test("validation is a stratified split; early stopping keeps the best epoch's weights")
  func earlyStopping() throws {
    // Few noisy rows, many features, no penalty: validation loss rises after a while.
    var random = SplitMix64(seed: 9)
    let rows = (0..<120).map { _ in (0..<40).map { _ in random.nextGaussian() } }
    let labels = rows.map { $0[0] + 0.8 * random.nextGaussian() > 0 ? "up" : "down" }
    let dataset = try Dataset(rows: rows, labels: labels)
    var options = TrainingOptions()
    options.lambda = 0
    options.validationFraction = 0.25
    options.earlyStoppingPatience = 3
    options.maxEpochs = 300
    let result = try Trainer(options: options).fit(dataset)
    let report = result.report
    #expect(report.validationRowCount == 30 && report.rowCount == 90)
    #expect(report.stopReason == .earlyStopping)
    let losses = report.history.compactMap(\.validationLoss)
    let best = losses.indices.min { losses[$0] < losses[$1] }!
    #expect(report.returnedEpoch == best)
    #expect(report.history.count - 1 == best + 3, "stopped three epochs after the best")
    // The returned model is the best epoch's: scored independently on the validation rows
    // (the same seeded split), its log loss is the minimum of the history.
    let split = try ValidationSplit(
      labels: dataset.labels, classCount: dataset.classCount, fraction: 0.25, seed: options.seed)
    let held = try dataset.subset(split.validation.map(Int.init))
    let heldLoss = try ClassificationMetrics(model: result.model, dataset: held).logLoss
    #expect(abs(heldLoss - losses[best]) <= 1e-5 * losses[best], "\(heldLoss) vs \(losses[best])")
    #expect(losses.last! > losses[best] + 1e-6, "the last epoch's model would score worse")
  }

  @Test("row weights of 1.4e-45 or 1e38 train the same model as weights of 1 (a weighted mean is scale-free)")
  func extremeWeightScales() throws {
    let iris = try Dataset(csvAt: dataFile("iris.csv"))
    func fit(_ weight: Float, varying: Bool) throws -> Trainer.Result {
      // Two weight levels, so the weights matter; scaled by `weight` overall.
      let weights = (0..<iris.rowCount).map { row in weight * (varying && row % 3 == 0 ? 2 : 1) }
      var rows: [[Float]] = []
      for row in 0..<iris.rowCount { rows.append((0..<4).map { Float(iris.value(row: row, column: $0)) }) }
      let dataset = try Dataset(
        rows: rows, labels: iris.labels.map { iris.classNames[Int($0)] },
        featureNames: iris.featureNames, labelName: iris.labelName, weights: weights)
      return try Trainer().fit(dataset)
    }
    let reference = try fit(1, varying: true)
    #expect(reference.report.epochs > 5)
    // 2^-149 and 2^120 are powers of two: the same bits as weights of 1.
    for weight in [Float.leastNonzeroMagnitude, Float(0x1p120)] {
      let scaled = try fit(weight, varying: true)
      #expect(try scaled.model.fileBytes() == reference.model.fileBytes(), "weight \(weight)")
    }
    // 1e38 is not: the same optimum within rounding.
    let large = try fit(1e38, varying: true)
    #expect(large.report.epochs > 5 && abs(large.report.objective - reference.report.objective) < 1e-6)
  }

  @Test("balanced class weights equal the reference weighted objective")
  func balancedClassWeights() throws {
    let rows = (0..<40).map { row in [Float(row % 7) - 3, Float(row % 5)] }
    let labels = (0..<40).map { $0 < 30 ? "a" : ($0 < 37 ? "b" : "c") }
    let dataset = try Dataset(rows: rows, labels: labels)
    var options = unstandardized(.lbfgs, lambda: 0.05)
    options.classWeight = .balanced
    let result = try Trainer(options: options).fit(dataset)
    let classWeights: [Float] = [40 / (3 * 30), 40 / (3 * 7), 40 / (3 * 3)]
    let newton = NewtonReference(dataset: dataset, lambda: 0.05, weights: dataset.labels.map { classWeights[Int($0)] })
    let optimum = newton.objective(newton.solve())
    #expect(abs(result.report.objective - optimum) <= 1e-5 * optimum, "\(result.report.objective) vs \(optimum)")
  }

  @Test("warm start continues from the saved model; other classes are refused")
  func warmStart() throws {
    let dataset = try Dataset(csvAt: dataFile("digits.csv"))
    var options = TrainingOptions()
    options.maxEpochs = 15
    // lbfgs alone: auto would hand over to newton, whose 650 × 650 Hessian takes seconds in
    // a debug build, and the warm start is the same for every solver.
    options.solver = .lbfgs
    let first = try Trainer(options: options).fit(dataset)
    options.initialModel = first.model
    let second = try Trainer(options: options).fit(dataset)
    #expect(abs(second.report.history[0].objective - first.report.objective) <= 1e-6 * first.report.objective)
    #expect(second.report.objective < first.report.objective)
    // Starting from a standardised model in raw feature space gives the same predictions.
    options.standardize = false
    options.maxEpochs = 0
    let raw = try Trainer(options: options).fit(dataset)
    #expect(abs(raw.report.history[0].accuracy - first.report.trainAccuracy) < 1e-9)
    options.initialModel = try Trainer(options: TrainingOptions()).fit(try Dataset(csvAt: dataFile("iris.csv"))).model
    #expect(throws: TrainingError.self) { try Trainer(options: options).fit(dataset) }
  }

  @Test("a weight column is read, checked and kept out of the features")
  func weightColumn() throws {
    let dataset = try Dataset(csvText: "x,w,l\n1,0.5,a\n2,2,b\n", schema: .training(weightColumn: "w"))
    #expect(dataset.featureNames == ["x"] && dataset.rowWeights == [0.5, 2])
    do {
      _ = try Dataset(csvText: "x,w,l\n1,-1,a\n2,2,b\n", name: "w.csv", schema: .training(weightColumn: "w"))
      Issue.record("accepted a negative weight")
    } catch {
      #expect(error.reason == .invalidWeight && error.line == 2 && error.column == 2)
    }
    #expect(throws: DatasetError.self) { try Dataset(csvText: "x,l\n1,a\n", schema: .training(weightColumn: "w")) }
  }

  @Test("solver options are validated",
    arguments: [
      { (o: inout TrainingOptions) in o.memory = 0 }, { $0.memory = 1_000_000_000_000 }, { $0.batchSize = 0 }, { $0.momentum = 1 }, { $0.decay = -1 },
      { $0.validationFraction = 1 }, { $0.validationFraction = 0 }, { $0.earlyStoppingPatience = 2 },
      { $0.objectiveTolerance = -1 },
    ] as [@Sendable (inout TrainingOptions) -> Void])
  func invalidSolverOptions(change: @Sendable (inout TrainingOptions) -> Void) {
    var options = TrainingOptions()
    change(&options)
    #expect(throws: TrainingError.self) { try options.validate() }
  }
}
