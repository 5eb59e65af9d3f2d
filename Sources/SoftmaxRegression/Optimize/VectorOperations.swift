/// Vector operations on parameter vectors (Double), written with SIMD4<Double> (one AVX2
/// register) over the body and scalar code over the tail. Reductions keep four lane sums
/// and add them in a fixed order, so results are deterministic. Each is O(n).
enum VectorOperations {
  typealias Vector4 = SIMD4<Double>

  @inline(__always)
  private static func load(_ base: UnsafePointer<Double>, _ index: Int) -> Vector4 {
    UnsafeRawPointer(base + index).loadUnaligned(as: Vector4.self)
  }

  @inline(__always)
  private static func store(_ value: Vector4, _ base: UnsafeMutablePointer<Double>, _ index: Int) {
    UnsafeMutableRawPointer(base + index).storeBytes(of: value, as: Vector4.self)
  }

  /// result = x + alpha · direction
  static func step(
    from x: [Double], along direction: [Double], by alpha: Double, into result: inout [Double]
  ) {
    precondition(x.count == direction.count && x.count == result.count)
    let count = x.count
    let factor = Vector4(repeating: alpha)
    x.withUnsafeBufferPointer { x in
      direction.withUnsafeBufferPointer { direction in
        result.withUnsafeMutableBufferPointer { result in
          let xBase = x.baseAddress!, directionBase = direction.baseAddress!
          let resultBase = result.baseAddress!
          var index = 0
          while index + 4 <= count {
            store(load(xBase, index) + factor * load(directionBase, index), resultBase, index)
            index += 4
          }
          while index < count {
            result[index] = x[index] + alpha * direction[index]
            index += 1
          }
        }
      }
    }
  }

  /// x += alpha · y, in place.
  static func addScaled(_ y: [Double], by alpha: Double, to x: inout [Double]) {
    precondition(x.count == y.count)
    let count = x.count
    let factor = Vector4(repeating: alpha)
    y.withUnsafeBufferPointer { y in
      x.withUnsafeMutableBufferPointer { x in
        let yBase = y.baseAddress!, xBase = x.baseAddress!
        var index = 0
        while index + 4 <= count {
          store(load(xBase, index) + factor * load(yBase, index), xBase, index)
          index += 4
        }
        while index < count {
          x[index] += alpha * y[index]
          index += 1
        }
      }
    }
  }

  /// x *= alpha, in place.
  static func scale(_ x: inout [Double], by alpha: Double) {
    let count = x.count
    let factor = Vector4(repeating: alpha)
    x.withUnsafeMutableBufferPointer { x in
      let base = x.baseAddress!
      var index = 0
      while index + 4 <= count {
        store(load(base, index) * factor, base, index)
        index += 4
      }
      while index < count {
        x[index] *= alpha
        index += 1
      }
    }
  }

  /// result = x − y
  static func difference(_ x: [Double], _ y: [Double], into result: inout [Double]) {
    step(from: x, along: y, by: -1, into: &result)
  }

  /// max_i |x_i|, or 0 for an empty vector; NaN if any entry is NaN.
  static func maximumMagnitude(_ x: [Double]) -> Double {
    var maximum = 0.0
    for value in x {
      if value.isNaN { return .nan }
      maximum = Swift.max(maximum, value.magnitude)
    }
    return maximum
  }

  /// Σ x_i y_i: four lane sums, added in a fixed order at the end.
  static func dot(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count)
    let count = x.count
    return x.withUnsafeBufferPointer { x in
      y.withUnsafeBufferPointer { y in
        let xBase = x.baseAddress!, yBase = y.baseAddress!
        var sums = Vector4()
        var index = 0
        while index + 4 <= count {
          sums += load(xBase, index) * load(yBase, index)
          index += 4
        }
        var tail = 0.0
        while index < count {
          tail += x[index] * y[index]
          index += 1
        }
        return (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
      }
    }
  }
}
