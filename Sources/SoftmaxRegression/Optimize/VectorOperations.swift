/// Vector operations on parameter vectors (Double). Each is one O(n) loop that the compiler
/// vectorises; they run once or a few times per epoch, against a pass over all the data.
enum VectorOperations {
  /// result = x + alpha · direction
  static func step(
    from x: [Double], along direction: [Double], by alpha: Double, into result: inout [Double]
  ) {
    precondition(x.count == direction.count && x.count == result.count)
    x.withUnsafeBufferPointer { x in
      direction.withUnsafeBufferPointer { direction in
        result.withUnsafeMutableBufferPointer { result in
          for index in 0..<x.count { result[index] = x[index] + alpha * direction[index] }
        }
      }
    }
  }

  /// x += alpha · y, in place.
  static func addScaled(_ y: [Double], by alpha: Double, to x: inout [Double]) {
    precondition(x.count == y.count)
    y.withUnsafeBufferPointer { y in
      x.withUnsafeMutableBufferPointer { x in
        for index in 0..<x.count { x[index] += alpha * y[index] }
      }
    }
  }

  /// x *= alpha, in place.
  static func scale(_ x: inout [Double], by alpha: Double) {
    x.withUnsafeMutableBufferPointer { x in
      for index in 0..<x.count { x[index] *= alpha }
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

  /// Σ x_i y_i.
  static func dot(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count)
    return x.withUnsafeBufferPointer { x in
      y.withUnsafeBufferPointer { y in
        var sum = 0.0
        for index in 0..<x.count { sum += x[index] * y[index] }
        return sum
      }
    }
  }
}
