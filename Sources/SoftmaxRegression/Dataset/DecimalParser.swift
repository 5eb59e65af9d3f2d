#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Converts the text of one decimal number to the nearest Float32, exactly as `strtof` does
/// (`parse`), or to the nearest Double, exactly as `strtod` does (the CSV reader's
/// `parseDouble` and `parseFieldDouble`, whose value is then shifted and stored by
/// `ColumnEncoding`).
///
/// Accepted syntax (after the caller has trimmed surrounding spaces):
/// `[+-]? digits [. digits]? ([eE] [+-]? digits)?`, with at least one digit before or after
/// the point. Everything else is rejected: `NaN`, `inf`, hex (`0x1p3`), thousands separators,
/// empty text. Values whose magnitude rounds beyond `Float.greatestFiniteMagnitude` are
/// reported as out of range; values too small for a subnormal round to ±0, like `strtof`.
///
/// Fast path (Clinger): when the significand has at most 24 bits and the decimal exponent is
/// within ±10 (Double: 53 bits, ±22), both operands are exact and one IEEE multiply or divide
/// rounds correctly. Otherwise the validated text goes to `strtof` (`strtod`), which rounds
/// correctly.
public enum DecimalParser {
  /// The outcome of parsing one field.
  public enum Result: Equatable, Sendable {
    /// The correctly rounded value.
    case value(Float)
    /// The text is not a decimal number in the accepted syntax.
    case invalid
    /// The number is finite but beyond Float32's range.
    case outOfRange
  }

  private static let exactPowersOfTen: [Float] = [
    1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
  ]

  /// Parses `bytes`, which must already be trimmed. Cost: O(bytes.count).
  public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result {
    guard let number = scan(bytes) else { return .invalid }
    if number.significand == 0 { return .value(number.negative ? -0.0 : 0.0) }
    if !number.droppedNonzeroDigit,
      let value = exactProduct(number.significand, number.exponent, negative: number.negative)
    {
      return .value(value)
    }
    return parseWithStrtof(bytes)
  }

  /// Parses `bytes` (already trimmed) to the nearest Double, as `strtod` does; nil when the
  /// text is not a decimal number in the accepted syntax, ±infinity beyond Double's range.
  static func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
    guard let number = scan(bytes) else { return nil }
    if number.significand == 0 { return number.negative ? -0.0 : 0.0 }
    if !number.droppedNonzeroDigit,
      let value = exactDoubleProduct(number.significand, number.exponent, negative: number.negative)
    {
      return value
    }
    return withNulTerminated(bytes) { strtod($0, nil) }
  }

  /// A validated decimal: ±significand · 10^exponent, with up to 19 significant digits kept.
  private struct ScannedNumber {
    var negative = false
    var significand: UInt64 = 0
    var exponent = 0
    var droppedNonzeroDigit = false
  }

  /// Checks the syntax of `bytes` and reads its digits; nil when it is not a number.
  private static func scan(_ bytes: UnsafeRawBufferPointer) -> ScannedNumber? {
    let count = bytes.count
    var index = 0
    var number = ScannedNumber()
    if index < count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
      number.negative = bytes[index] == UInt8(ascii: "-")
      index += 1
    }
    var significantDigits = 0
    var digitCount = 0

    func take(_ digit: UInt64, afterPoint: Bool) {
      digitCount += 1
      if number.significand == 0 && digit == 0 {
        if afterPoint { number.exponent -= 1 }
        return
      }
      if significantDigits < 19 {
        number.significand = number.significand * 10 + digit
        significantDigits += 1
        if afterPoint { number.exponent -= 1 }
      } else {
        if digit != 0 { number.droppedNonzeroDigit = true }
        if !afterPoint { number.exponent += 1 }
      }
    }

    while index < count, case let byte = bytes[index], byte &- 48 < 10 {
      take(UInt64(byte &- 48), afterPoint: false)
      index += 1
    }
    if index < count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      while index < count, case let byte = bytes[index], byte &- 48 < 10 {
        take(UInt64(byte &- 48), afterPoint: true)
        index += 1
      }
    }
    guard digitCount > 0 else { return nil }
    if index < count, bytes[index] | 0x20 == UInt8(ascii: "e") {
      index += 1
      var exponentNegative = false
      if index < count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
        exponentNegative = bytes[index] == UInt8(ascii: "-")
        index += 1
      }
      var exponent = 0
      var exponentDigits = 0
      while index < count, case let byte = bytes[index], byte &- 48 < 10 {
        exponent = min(exponent * 10 + Int(byte &- 48), 1_000_000)
        exponentDigits += 1
        index += 1
      }
      guard exponentDigits > 0 else { return nil }
      number.exponent += exponentNegative ? -exponent : exponent
    }
    guard index == count else { return nil }
    return number
  }

  /// Clinger's fast path: ±significand · 10^exponent when one IEEE operation on exact Float32
  /// operands rounds it correctly (significand ≤ 2^24, |exponent| ≤ 10), else nil.
  @inline(__always)
  static func exactProduct(_ significand: UInt64, _ exponent: Int, negative: Bool) -> Float? {
    guard significand <= 1 << 24 && exponent >= -10 && exponent <= 10 else { return nil }
    let exact = Float(significand)
    let scaled =
      exponent >= 0 ? exact * exactPowersOfTen[exponent] : exact / exactPowersOfTen[-exponent]
    return negative ? -scaled : scaled
  }

  private static let exactDoublePowersOfTen: [Double] = [
    1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
  ]

  /// Clinger's fast path in Double: significand ≤ 2^53 and |exponent| ≤ 22, else nil.
  @inline(__always)
  static func exactDoubleProduct(_ significand: UInt64, _ exponent: Int, negative: Bool) -> Double? {
    guard significand <= 1 << 53 && exponent >= -22 && exponent <= 22 else { return nil }
    let exact = Double(significand)
    let scaled =
      exponent >= 0
      ? exact * exactDoublePowersOfTen[exponent] : exact / exactDoublePowersOfTen[-exponent]
    return negative ? -scaled : scaled
  }

  /// Parses the number starting at `position`, stopping at the first byte that cannot
  /// continue it, and advances `position` there; the caller checks what follows.
  ///
  /// Returns exactly what `parseDouble` returns for the same bytes, or nil where it would not
  /// return a value, where more than 19 digits make the shortcut unsafe, or where the value's
  /// magnitude exceeds `fieldMagnitudeLimit` (the caller then takes the general path). This is the row parser's one-pass inner loop: no trimming, no
  /// copy. Cost: O(digits).
  @_transparent
  static func parseFieldDouble(
    _ base: UnsafePointer<UInt8>, _ position: inout Int, end: Int
  ) -> Double? {
    let start = position
    var index = position
    guard index < end else { return nil }
    // Signs are random in real data: branch-free, so they cost no mispredictions.
    let first = base[index]
    let negative = first == UInt8(ascii: "-")
    index &+= negative || first == UInt8(ascii: "+") ? 1 : 0
    var significand: UInt64 = 0
    var digitCount = readDigits(base, &index, end: end, into: &significand)
    var exponent = 0
    if index < end && base[index] == UInt8(ascii: ".") {
      index += 1
      let fractionDigits = readDigits(base, &index, end: end, into: &significand)
      exponent = -fractionDigits
      digitCount += fractionDigits
    }
    guard digitCount > 0 && digitCount <= 19 else { return nil }
    if index < end && base[index] | 0x20 == UInt8(ascii: "e") {
      index += 1
      var exponentNegative = false
      if index < end && (base[index] == UInt8(ascii: "-") || base[index] == UInt8(ascii: "+")) {
        exponentNegative = base[index] == UInt8(ascii: "-")
        index += 1
      }
      let digitsStart = index
      var written = 0
      while index < end, case let digit = base[index] &- 48, digit < 10 {
        written = min(written * 10 + Int(digit), 1_000_000)
        index += 1
      }
      guard index > digitsStart else { return nil }
      exponent += exponentNegative ? -written : written
    }
    position = index
    if significand == 0 { return negative ? -0.0 : 0.0 }
    if let magnitude = exactDoubleProduct(significand, exponent, negative: false) {
      // The sign as a bit, not a branch: signs are random in real data.
      return Double(bitPattern: magnitude.bitPattern | UInt64(negative ? 1 : 0) << 63)
    }
    guard let value = parseDoubleSlowly(UnsafeRawBufferPointer(start: base + start, count: index - start)),
      abs(value) <= fieldMagnitudeLimit
    else { return nil }
    return value
  }

  /// The largest magnitude `parseFieldDouble` returns: its fast path's bound, 2^53 · 10^22
  /// (rounded up); the rare larger values are left to the general path.
  static let fieldMagnitudeLimit = 9.1e37

  /// `parseDouble`, kept out of line: the field reader's rare path.
  @inline(never)
  private static func parseDoubleSlowly(_ bytes: UnsafeRawBufferPointer) -> Double? {
    parseDouble(bytes)
  }

  /// Appends the run of ASCII digits at `position` to `significand` (wrapping past 19
  /// digits; callers reject those) and returns how many there were. Reads eight bytes at a
  /// time where eight are left before `end`.
  @inline(__always)
  private static func readDigits(
    _ base: UnsafePointer<UInt8>, _ position: inout Int, end: Int, into significand: inout UInt64
  ) -> Int {
    let start = position
    while position + 8 <= end {
      let (value, count) = eightDigitPrefix(UnsafeRawPointer(base + position))
      guard count > 0 else { return position - start }
      significand = significand &* powersOfTen[count] &+ value
      position += count
      if count < 8 { return position - start }
    }
    while position < end, case let digit = base[position] &- 48, digit < 10 {
      significand = significand &* 10 &+ UInt64(digit)
      position += 1
    }
    return position - start
  }

  private static let powersOfTen: [UInt64] = [
    1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000,
  ]

  /// The value and length of the run of ASCII digits that begins the eight bytes at `bytes`,
  /// computed eight bytes at once (SWAR).
  @inline(__always)
  static func eightDigitPrefix(_ bytes: UnsafeRawPointer) -> (value: UInt64, count: Int) {
    let chunk = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
    let offsets = chunk &- 0x3030_3030_3030_3030
    // A byte's high bit ends up set when it is below "0" (the subtraction wraps) or above
    // "9" (adding 0x76 carries into the high bit). Borrows and carries only move towards
    // later bytes, so every byte before the first non-digit is judged correctly.
    let nonDigits = ((offsets &+ 0x7676_7676_7676_7676) | offsets) & 0x8080_8080_8080_8080
    let count = nonDigits == 0 ? 8 : nonDigits.trailingZeroBitCount >> 3
    guard count > 0 else { return (0, 0) }
    // The digits move to the high bytes behind zero digits; then pairs, quads and the two
    // halves are combined with one multiply each.
    var value = (offsets << (64 - 8 * UInt64(count))) & 0x0F0F_0F0F_0F0F_0F0F
    value = (value &* 2561) >> 8 & 0x00FF_00FF_00FF_00FF
    value = (value &* 6_553_601) >> 16 & 0x0000_FFFF_0000_FFFF
    value = (value &* 42_949_672_960_001) >> 32
    return (value, count)
  }

  /// The exact fallback: `strtof` on a NUL-terminated copy of already validated text.
  private static func parseWithStrtof(_ bytes: UnsafeRawBufferPointer) -> Result {
    let value = withNulTerminated(bytes) { strtof($0, nil) }
    return value.isInfinite ? .outOfRange : .value(value)
  }

  private static func withNulTerminated<Value>(
    _ bytes: UnsafeRawBufferPointer, _ body: (UnsafePointer<CChar>) -> Value
  ) -> Value {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
      for index in 0..<bytes.count { buffer[index] = CChar(bitPattern: bytes[index]) }
      buffer[bytes.count] = 0
      return body(buffer.baseAddress!)
    }
  }

  /// Parses the UTF-8 of `text`. Convenience for tests and flags; cost O(text.utf8.count).
  public static func parse(_ text: String) -> Result {
    var copy = text
    return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
  }
}
