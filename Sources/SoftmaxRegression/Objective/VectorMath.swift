/// The SIMD width the kernels are written for: 8 Float32 lanes, one AVX2 register.
typealias Vector8 = SIMD8<Float>

/// `addend + a * b`, fused into one rounding where the target has FMA.
///
/// Builds with `SOFTMAX_FMA` (x86-64-v3, see Package.swift) and arm64 use `addingProduct`,
/// one `vfmadd`/`fmla` per vector. On baseline x86-64 `addingProduct` would become a libm
/// `fmaf` call per lane (~30x slower than no SIMD at all), so it multiplies and adds apart.
@inline(__always)
func multiplyAdd(_ a: Vector8, _ b: Vector8, _ addend: Vector8) -> Vector8 {
  #if SOFTMAX_FMA || arch(arm64)
    return addend.addingProduct(a, b)
  #else
    return addend + a * b
  #endif
}

/// ((v0+v1)+(v2+v3))+((v4+v5)+(v6+v7)): a lane sum in a fixed order, so that the Swift and
/// the C kernel (CKernel) add the same way (`SIMD.sum()` leaves its order unspecified).
@inline(__always)
func treeSum(_ v: Vector8) -> Float {
  ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
}

@inline(__always)
func loadVector(_ pointer: UnsafePointer<Float>) -> Vector8 {
  UnsafeRawPointer(pointer).loadUnaligned(as: Vector8.self)
}

@inline(__always)
func storeVector(_ vector: Vector8, _ pointer: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(pointer).storeBytes(of: vector, as: Vector8.self)
}

/// Vectorised `exp` and `log` for eight Float32 lanes, without libm calls.
///
/// Both use range reduction and the minimax polynomials of Cephes' `expf`/`logf`. Tested
/// against Foundation's `exp`/`log`: within 2 ulp for exp on [−87.3, 88] and log on normal
/// positive inputs (see VectorMathTests). Written with compare-and-replace and bit
/// manipulation only: `pointwiseMax`, `.clamped` and Float↔Int conversions compile to
/// per-lane scalar code here (measured 3.4x slower in a softmax).
enum VectorMath {
  // Constants are literals inside the functions, not static stored properties: a static
  // `let` is a lazily initialised global, and the functions must inline into the kernels.

  /// e^x for each lane. Lanes above 88 give e^88; lanes below −87.34 (where e^x is
  /// subnormal) and −∞ give exactly 0. NaN lanes give an unspecified value.
  @inline(__always)
  static func exp(_ input: Vector8) -> Vector8 {
    let upperBound: Float = 88
    return expOfNonPositive(input.replacing(with: upperBound, where: input .> Vector8(repeating: upperBound)))
  }

  /// e^x for lanes x ≤ 88, as `exp`, without the upper clamp: the softmax's shifted logits
  /// z − max are never positive. One compare fewer than `exp`; ~25 vector ops.
  @inline(__always)
  static func expOfNonPositive(_ input: Vector8) -> Vector8 {
    let lowerBound: Float = -87.33654  // e^lowerBound is 2^-126·(1+ε), the least normal
    let log2e: Float = 1.442_695_0
    let ln2High: Float = 0.693_359_375  // exact in 9 bits, so n·ln2High is exact
    let ln2Low: Float = -2.121_944_4e-4
    let underflows = input .< Vector8(repeating: lowerBound)
    let x = input.replacing(with: lowerBound, where: underflows)
    let n = (x * log2e).rounded(.toNearestOrEven)
    var r = multiplyAdd(n, Vector8(repeating: -ln2High), x)
    r = multiplyAdd(n, Vector8(repeating: -ln2Low), r)
    var p = Vector8(repeating: 1.987_569_15e-4)
    p = multiplyAdd(p, r, Vector8(repeating: 1.398_199_95e-3))
    p = multiplyAdd(p, r, Vector8(repeating: 8.333_451_9e-3))
    p = multiplyAdd(p, r, Vector8(repeating: 4.166_579_59e-2))
    p = multiplyAdd(p, r, Vector8(repeating: 1.666_666_55e-1))
    p = multiplyAdd(p, r, Vector8(repeating: 5.000_000_12e-1))
    let polynomial = multiplyAdd(p, r * r, r + 1)
    // 2^n from the bits of n + 1.5·2^23: the low bits hold n, so (bits − magic + 127) << 23
    // is the exponent field of 2^n (n ∈ [−126, 127] after the clamps).
    let roundingMagic: Float = 12_582_912  // 1.5 · 2^23
    let nBits = unsafeBitCast(n + roundingMagic, to: SIMD8<UInt32>.self)
    let scaleBits = (nBits &- SIMD8(repeating: roundingMagic.bitPattern &- 127)) &<< 23
    let result = polynomial * unsafeBitCast(scaleBits, to: Vector8.self)
    return result.replacing(with: 0, where: underflows)
  }

  /// The natural logarithm of each lane, for positive normal inputs (the softmax
  /// normaliser is always in [1, K]). Zero, negative, subnormal, ∞ and NaN lanes give
  /// unspecified values.
  @inline(__always)
  static func log(_ input: Vector8) -> Vector8 {
    let ln2High: Float = 0.693_359_375
    let ln2Low: Float = -2.121_944_4e-4
    let roundingMagic: Float = 12_582_912  // 1.5 · 2^23: adding it puts an integer in the low bits
    let bits = unsafeBitCast(input, to: SIMD8<UInt32>.self)
    // input = m · 2^e with m ∈ [0.5, 1).
    let exponentBits = (bits &>> 23) & 0xFF
    var exponent =
      unsafeBitCast(exponentBits &+ roundingMagic.bitPattern, to: Vector8.self)
      - Vector8(repeating: roundingMagic + 126)
    let mantissa = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F00_0000, to: Vector8.self)
    // Move m into [√½, √2) so the polynomial's argument is small.
    let small = mantissa .< Vector8(repeating: 0.707_106_781)
    exponent.replace(with: exponent - 1, where: small)
    let x = mantissa - 1 + Vector8().replacing(with: mantissa, where: small)
    let z = x * x
    var p = Vector8(repeating: 7.037_683_629_2e-2)
    p = multiplyAdd(p, x, Vector8(repeating: -1.151_461_031_0e-1))
    p = multiplyAdd(p, x, Vector8(repeating: 1.167_699_874_0e-1))
    p = multiplyAdd(p, x, Vector8(repeating: -1.242_014_084_6e-1))
    p = multiplyAdd(p, x, Vector8(repeating: 1.424_932_278_7e-1))
    p = multiplyAdd(p, x, Vector8(repeating: -1.666_805_766_5e-1))
    p = multiplyAdd(p, x, Vector8(repeating: 2.000_071_476_5e-1))
    p = multiplyAdd(p, x, Vector8(repeating: -2.499_999_399_3e-1))
    p = multiplyAdd(p, x, Vector8(repeating: 3.333_333_117_4e-1))
    var y = p * x * z
    y = multiplyAdd(exponent, Vector8(repeating: ln2Low), y)
    y = multiplyAdd(z, Vector8(repeating: -0.5), y)
    return multiplyAdd(exponent, Vector8(repeating: ln2High), x + y)
  }

  /// log(1 + t) for each lane, for t ≥ 0, without the cancellation of log(1 + t) when t is
  /// tiny: with u = 1 + t rounded, log1p(t) = log(u) · t / (u − 1), exact when u = 1
  /// (Goldberg, "What every computer scientist should know about floating-point
  /// arithmetic", Theorem 4). Within 4 ulp on [0, 1e30] (VectorMathTests).
  // `@_transparent`, not `@inline(__always)`: with `log` inlined into it, the optimiser kept
  // this out of line in the kernel's softmax (a call with spills once per 8-row tile).
  @_transparent
  static func log1p(_ t: Vector8) -> Vector8 {
    let u = 1 + t
    let denominator = u - 1
    let corrected = log(u) * (t / denominator)
    return corrected.replacing(with: t, where: denominator .== 0)
  }

  /// 1/12!, 1/11!, …, 1/1!, 1/0!: the Taylor coefficients of e^r, highest degree first.
  private static let inverseFactorials: [Double] = (0...12).reversed().map { degree in
    1 / (1...max(degree, 1)).reduce(1.0) { $0 * Double($1) }
  }

  /// e^x for four Double lanes: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor
  /// polynomial to degree 12 (truncation below 1e-16 relative), and 2^n from the exponent
  /// bits. Within a few ulp of Foundation's `exp` (VectorMathTests); lanes below −708 (where
  /// e^x is subnormal) and −∞ give exactly 0. Inputs here are ≤ 0 (logits minus their max).
  @inline(__always)
  static func exp(_ input: SIMD4<Double>) -> SIMD4<Double> {
    typealias Vector4 = SIMD4<Double>
    let underflows = input .< Vector4(repeating: -708)
    var x = input.replacing(with: 0, where: underflows)
    x.replace(with: 709, where: x .> Vector4(repeating: 709))
    let n = (x * 1.442_695_040_888_963_4).rounded(.toNearestOrEven)
    // ln 2 split so that n · ln2High is exact for |n| < 2^21.
    var r = x - n * 0.693_147_180_369_123_816_49
    r = r - n * 1.908_214_929_270_587_700_02e-10
    var p = Vector4(repeating: Self.inverseFactorials[0])
    for index in 1..<Self.inverseFactorials.count {
      p = p * r + Vector4(repeating: Self.inverseFactorials[index])
    }
    // 2^n from the bits of n + 1.5·2^52: the low bits hold n.
    let magic = 6_755_399_441_055_744.0
    let nBits = unsafeBitCast(n + magic, to: SIMD4<UInt64>.self)
    let scaleBits = (nBits &- SIMD4(repeating: magic.bitPattern &- 1023)) &<< 52
    let result = p * unsafeBitCast(scaleBits, to: Vector4.self)
    return result.replacing(with: 0, where: underflows)
  }
}
