import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Vectorised exp and log")
struct VectorMathTests {
  /// The distance in units in the last place between two positive floats.
  func ulpDistance(_ a: Float, _ b: Float) -> Int {
    abs(Int(a.bitPattern) - Int(b.bitPattern))
  }

  @Test("exp is within 2 ulp of the correctly rounded value on [-87.3, 88]")
  func expAccuracy() {
    var worst = 0
    var random = SplitMix64(seed: 1)
    for _ in 0..<20_000 {
      let inputs = Vector8((0..<8).map { _ in Float(-87.3 + 175.3 * random.nextUniform()) })
      let outputs = VectorMath.exp(inputs)
      for lane in 0..<8 {
        let exact = Float(exp(Double(inputs[lane])))
        worst = max(worst, ulpDistance(outputs[lane], exact))
      }
    }
    #expect(worst <= 2)
  }

  @Test("the Double exp is within 4 ulp of Foundation's on [-708, 0] and exactly 0 below")
  func doubleExp() {
    var random = SplitMix64(seed: 6)
    var worst: UInt64 = 0
    for _ in 0..<20_000 {
      let inputs = SIMD4<Double>((0..<4).map { _ in -708 * random.nextUniform() * random.nextUniform() })
      let outputs = VectorMath.exp(inputs)
      for lane in 0..<4 {
        let exact = Foundation.exp(inputs[lane])
        let distance = max(outputs[lane].bitPattern, exact.bitPattern) - min(outputs[lane].bitPattern, exact.bitPattern)
        worst = max(worst, distance)
      }
    }
    #expect(worst <= 4, "worst \(worst) ulp")
    let edges = VectorMath.exp(SIMD4<Double>(-.infinity, -800, 0, -1e-300))
    #expect(edges[0] == 0 && edges[1] == 0 && edges[2] == 1 && edges[3] == 1)
  }

  @Test("the softmax's exp of non-positive inputs is within 2 ulp of Foundation's on [-87.3, 0], 0 below")
  func expOfNonPositive() {
    // `exp` clamps and then calls this function, so the reference is Foundation's, in Double.
    var random = SplitMix64(seed: 2)
    var worst = 0
    for _ in 0..<20_000 {
      // Products of two uniforms: more samples near 0, where most shifted logits lie.
      let inputs = Vector8((0..<8).map { _ in Float(-87.3 * random.nextUniform() * random.nextUniform()) })
      let outputs = VectorMath.expOfNonPositive(inputs)
      for lane in 0..<8 {
        worst = max(worst, ulpDistance(outputs[lane], Float(exp(Double(inputs[lane])))))
      }
    }
    #expect(worst <= 2, "worst \(worst) ulp")
    let edges = VectorMath.expOfNonPositive(Vector8(-.infinity, -1000, -88, 0, -0.0, -87.3, -1e-30, -1))
    #expect(edges[0] == 0 && edges[1] == 0 && edges[2] == 0 && edges[3] == 1 && edges[4] == 1)
    #expect(edges[6] == 1)
    #expect(ulpDistance(edges[5], Float(exp(Double(Float(-87.3))))) <= 2)
    #expect(ulpDistance(edges[7], Float(exp(-1.0))) <= 1)
  }

  @Test("exp gives exactly 0 for -infinity and underflowing inputs, and 1 for 0")
  func expEdges() {
    let outputs = VectorMath.exp(Vector8(-.infinity, -1000, -88, 0, -0.0, 1e-30, -1e-30, 1))
    #expect(outputs[0] == 0 && outputs[1] == 0 && outputs[2] == 0)
    #expect(outputs[3] == 1 && outputs[4] == 1)
    #expect(ulpDistance(outputs[7], Float(M_E)) <= 1)
  }

  @Test("log is within 2 ulp of the correctly rounded value on normal positive inputs")
  func logAccuracy() {
    var worst = 0
    var random = SplitMix64(seed: 2)
    for _ in 0..<20_000 {
      let inputs = Vector8((0..<8).map { _ in Float(exp(-80 + 160 * random.nextUniform())) })
      let outputs = VectorMath.log(inputs)
      for lane in 0..<8 {
        let exact = Float(log(Double(inputs[lane])))
        if abs(exact) < 1e-3 { continue }  // near x = 1 use an absolute bound below
        worst = max(worst, ulpDistance(outputs[lane], exact))
      }
    }
    #expect(worst <= 2)
    let nearOne = VectorMath.log(Vector8(1, 1.0001, 0.9999, 1.5, 2, 10, 1.0000001, 0.99999994))
    for (lane, x) in [1, 1.0001, 0.9999, 1.5, 2, 10, 1.0000001, 0.99999994].enumerated() {
      #expect(abs(Double(nearOne[lane]) - log(Double(Float(x)))) <= 2e-7 * max(1, abs(log(x))))
    }
  }
}

@Suite("Vectorised log1p and confident rows")
struct Log1pTests {
  @Test("log1p keeps full relative precision from 1e-30 to 1e30")
  func log1pAccuracy() {
    var random = SplitMix64(seed: 4)
    var worst = 0.0
    for _ in 0..<10_000 {
      let inputs = Vector8((0..<8).map { _ in Float(exp(-69 + 138 * random.nextUniform())) })
      let outputs = VectorMath.log1p(inputs)
      for lane in 0..<8 {
        let exact = Foundation.log1p(Double(inputs[lane]))
        worst = max(worst, abs(Double(outputs[lane]) - exact) / exact)
      }
    }
    #expect(worst < 4e-7, "worst relative error \(worst)")
    #expect(VectorMath.log1p(Vector8(repeating: 0))[0] == 0)
  }

  @Test("the loss of confidently classified rows keeps its digits (no log(1 + tiny) cancellation)")
  func confidentRows() throws {
    // Rows of class 0 only, and a bias of 25 on class 0: p(0 | x) = 1/(1 + 2e^{-25}).
    let dataset = randomDataset(rows: 40, features: 3, classes: 3, seed: 31)
    let classZero = try dataset.subset((0..<dataset.rowCount).filter { dataset.labels[$0] == 0 })
    let objective = try SoftmaxObjective(dataset: classZero, lambda: 0, executor: ShardedExecutor(threadCount: 1))
    let layout = objective.layout
    let parameters = layout.pack(weights: [Float](repeating: 0, count: 9), bias: [25, 0, 0])
    let (value, gradient) = objective.valueAndGradient(parameters)
    let exact = log1p(2 * exp(-25.0))
    #expect(abs(value - exact) / exact < 1e-5, "\(value) vs \(exact)")
    // ∂J/∂b_0 = p_0 − 1 = −2e^{-25}/(1 + 2e^{-25}), not 0.
    let expected = -2 * exp(-25.0) / (1 + 2 * exp(-25.0))
    #expect(abs(Double(gradient[layout.biasOffset]) - expected) / abs(expected) < 1e-5)
  }
}
