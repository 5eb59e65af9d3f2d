/// Vector operations on parameter vectors: SIMD8 over the body, scalar over the tail.
/// Each is O(n). Reductions accumulate in Double so they do not lose digits on long vectors.
enum VectorOperations {
  /// result = x + alpha · direction
  static func step(
    from x: [Float], along direction: [Float], by alpha: Float, into result: inout [Float]
  ) {
    precondition(x.count == direction.count && x.count == result.count)
    let count = x.count
    x.withUnsafeBufferPointer { x in
      direction.withUnsafeBufferPointer { direction in
        result.withUnsafeMutableBufferPointer { result in
          let scale = Vector8(repeating: alpha)
          var index = 0
          while index + 8 <= count {
            let value = multiplyAdd(
              loadVector(direction.baseAddress! + index), scale,
              loadVector(x.baseAddress! + index))
            storeVector(value, result.baseAddress! + index)
            index += 8
          }
          while index < count {
            result[index] = x[index] + alpha * direction[index]
            index += 1
          }
        }
      }
    }
  }

  /// max_i |x_i|, or 0 for an empty vector; NaN if any entry is NaN.
  static func maximumMagnitude(_ x: [Float]) -> Float {
    var maximum: Float = 0
    for value in x {
      if value.isNaN { return .nan }
      maximum = Swift.max(maximum, value.magnitude)
    }
    return maximum
  }

  /// Σ x_i y_i in Double.
  static func dot(_ x: [Float], _ y: [Float]) -> Double {
    precondition(x.count == y.count)
    var sum = 0.0
    for index in x.indices { sum += Double(x[index]) * Double(y[index]) }
    return sum
  }

  /// result = x − y
  static func difference(_ x: [Float], _ y: [Float], into result: inout [Float]) {
    step(from: x, along: y, by: -1, into: &result)
  }

  /// x += alpha · y, in place.
  static func addScaled(_ y: [Float], by alpha: Float, to x: inout [Float]) {
    precondition(x.count == y.count)
    let count = x.count
    let factor = Vector8(repeating: alpha)
    y.withUnsafeBufferPointer { y in
      x.withUnsafeMutableBufferPointer { x in
        var index = 0
        while index + 8 <= count {
          let value = multiplyAdd(loadVector(y.baseAddress! + index), factor, loadVector(x.baseAddress! + index))
          storeVector(value, x.baseAddress! + index)
          index += 8
        }
        while index < count {
          x[index] += alpha * y[index]
          index += 1
        }
      }
    }
  }

  /// x *= alpha, in place.
  static func scale(_ x: inout [Float], by alpha: Float) {
    let count = x.count
    let factor = Vector8(repeating: alpha)
    x.withUnsafeMutableBufferPointer { x in
      var index = 0
      while index + 8 <= count {
        storeVector(loadVector(x.baseAddress! + index) * factor, x.baseAddress! + index)
        index += 8
      }
      while index < count {
        x[index] *= alpha
        index += 1
      }
    }
  }
}
