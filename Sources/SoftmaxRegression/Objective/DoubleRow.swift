/// SIMD4<Double> loops over one padded row (`rowStride` a multiple of 8), shared by the
/// Double kernels (`PreciseGradientKernel`, `HessianVectorKernel`).
enum DoubleRow {
  typealias Vector4 = SIMD4<Double>

  /// Converts a Float32 row to Double (exact) into `target`.
  @inline(__always)
  static func widen(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Double>, rowStride: Int) {
    var offset = 0
    while offset < rowStride {
      let chunk = UnsafeRawPointer(source + offset).loadUnaligned(as: SIMD4<Float>.self)
      UnsafeMutableRawPointer(target + offset).storeBytes(of: Vector4(chunk), as: Vector4.self)
      offset += 4
    }
  }

  /// a · b over the row, in two interleaved lanes of 4 partial sums.
  @inline(__always)
  static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, rowStride: Int) -> Double {
    var sum0 = Vector4(), sum1 = Vector4()
    var offset = 0
    while offset < rowStride {
      sum0 = fusedMultiplyAdd(load(a + offset), load(b + offset), sum0)
      sum1 = fusedMultiplyAdd(load(a + offset + 4), load(b + offset + 4), sum1)
      offset += 8
    }
    return (sum0 + sum1).sum()
  }

  /// target += factor · x over the row.
  @inline(__always)
  static func addScaled(
    _ x: UnsafePointer<Double>, _ factor: Double, into target: UnsafeMutablePointer<Double>,
    rowStride: Int
  ) {
    let scale = Vector4(repeating: factor)
    var offset = 0
    while offset < rowStride {
      let value = fusedMultiplyAdd(load(x + offset), scale, load(target + offset))
      UnsafeMutableRawPointer(target + offset).storeBytes(of: value, as: Vector4.self)
      offset += 4
    }
  }

  @inline(__always)
  static func load(_ pointer: UnsafePointer<Double>) -> Vector4 {
    UnsafeRawPointer(pointer).loadUnaligned(as: Vector4.self)
  }

  /// `addend + a * b`, fused where the target has FMA (see `multiplyAdd`).
  @inline(__always)
  static func fusedMultiplyAdd(_ a: Vector4, _ b: Vector4, _ addend: Vector4) -> Vector4 {
    #if SOFTMAX_FMA || arch(arm64)
      return addend.addingProduct(a, b)
    #else
      return addend + a * b
    #endif
  }
}
