#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Converts the text of one decimal number to the nearest Float32, exactly as `strtof` does.
///
/// Accepted syntax (after the caller has trimmed surrounding spaces):
/// `[+-]? digits [. digits]? ([eE] [+-]? digits)?`, with at least one digit before or after
/// the point. Everything else is rejected: `NaN`, `inf`, hex (`0x1p3`), thousands separators,
/// empty text. Values whose magnitude rounds beyond `Float.greatestFiniteMagnitude` are
/// reported as out of range; values too small for a subnormal round to ±0, like `strtof`.
///
/// Fast path (Clinger): when the significand has at most 24 bits and the decimal exponent is
/// within ±10, both operands are exact Float32 values and one IEEE multiply or divide rounds
/// correctly. Otherwise the validated text goes to `strtof`, which rounds correctly.
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
    let count = bytes.count
    var index = 0
    var negative = false
    if index < count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
      negative = bytes[index] == UInt8(ascii: "-")
      index += 1
    }
    var significand: UInt64 = 0
    var significantDigits = 0
    var digitCount = 0
    var decimalExponent = 0
    var droppedNonzeroDigit = false

    func take(_ digit: UInt64, afterPoint: Bool) {
      digitCount += 1
      if significand == 0 && digit == 0 {
        if afterPoint { decimalExponent -= 1 }
        return
      }
      if significantDigits < 19 {
        significand = significand * 10 + digit
        significantDigits += 1
        if afterPoint { decimalExponent -= 1 }
      } else {
        if digit != 0 { droppedNonzeroDigit = true }
        if !afterPoint { decimalExponent += 1 }
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
    guard digitCount > 0 else { return .invalid }
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
      guard exponentDigits > 0 else { return .invalid }
      decimalExponent += exponentNegative ? -exponent : exponent
    }
    guard index == count else { return .invalid }

    if significand == 0 { return .value(negative ? -0.0 : 0.0) }
    if !droppedNonzeroDigit && significand <= 1 << 24 && abs(decimalExponent) <= 10 {
      let exact = Float(significand)
      let scaled =
        decimalExponent >= 0
        ? exact * exactPowersOfTen[decimalExponent]
        : exact / exactPowersOfTen[-decimalExponent]
      return .value(negative ? -scaled : scaled)
    }
    return parseWithStrtof(bytes)
  }

  /// The exact fallback: `strtof` on a NUL-terminated copy of already validated text.
  private static func parseWithStrtof(_ bytes: UnsafeRawBufferPointer) -> Result {
    let value = withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) {
      buffer -> Float in
      for index in 0..<bytes.count { buffer[index] = CChar(bitPattern: bytes[index]) }
      buffer[bytes.count] = 0
      return strtof(buffer.baseAddress!, nil)
    }
    return value.isInfinite ? .outOfRange : .value(value)
  }

  /// Parses the UTF-8 of `text`. Convenience for tests and flags; cost O(text.utf8.count).
  public static func parse(_ text: String) -> Result {
    var copy = text
    return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
  }
}
