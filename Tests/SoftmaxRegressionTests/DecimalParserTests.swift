import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Decimal parsing")
struct DecimalParserTests {
  /// strtof on the same text: the independent reference (glibc rounds correctly).
  func strtofValue(_ text: String) -> Float {
    text.withCString { strtof($0, nil) }
  }

  /// A random decimal in the accepted syntax: long and short mantissas, points anywhere,
  /// exponents reaching into the subnormal range and past the overflow threshold.
  func randomDecimal(_ random: inout SplitMix64) -> String {
    let digitCount = 1 + Int(random.next() % 22)
    var digits = (0..<digitCount).map { _ in String(random.next() % 10) }.joined()
    if random.next() % 3 == 0 {
      let point = Int(random.next() % UInt64(digitCount + 1))
      digits.insert(".", at: digits.index(digits.startIndex, offsetBy: point))
      if digits == "." { digits = "0." }
    }
    let sign = ["", "-", "+"][Int(random.next() % 3)]
    var exponent = ""
    if random.next() % 2 == 0 {
      let value = Int(random.next() % 100) - 60
      exponent = (random.next() % 2 == 0 ? "e" : "E") + String(value)
    }
    return sign + digits + exponent
  }

  /// strtod on the same text: the reference for the Double reader.
  func strtodValue(_ text: String) -> Double {
    text.withCString { strtod($0, nil) }
  }

  @Test("the Double reader agrees with strtod bit for bit on random decimals, and rejects what the Float32 reader rejects",
    arguments: 0..<2)
  func agreesWithStrtod(batch: Int) {
    var random = SplitMix64(seed: 4242 &+ UInt64(batch))
    var fastPathCount = 0
    for _ in 0..<TestScale.count(quick: 25_000, long: 100_000) {
      var text = randomDecimal(&random)
      if random.next() % 4 == 0 && !text.lowercased().contains("e") {
        text += "e" + String(Int(random.next() % 700) - 350)
      }
      var copy = text
      let value = copy.withUTF8 { DecimalParser.parseDouble(UnsafeRawBufferPointer($0)) }
      guard let value else {
        Issue.record("rejected valid text \(text)")
        continue
      }
      #expect(value.bitPattern == strtodValue(text).bitPattern, "\(text)")
      if text.count < 9 { fastPathCount += 1 }
    }
    #expect(fastPathCount > 50)
    for invalid in ["", "-", ".", "1e", "nan", "inf", "0x1p3", "1,5", "1 2", "--1", "1.2.3"] {
      var copy = invalid
      #expect(copy.withUTF8 { DecimalParser.parseDouble(UnsafeRawBufferPointer($0)) } == nil, "\(invalid)")
      #expect(DecimalParser.parse(invalid) == .invalid, "\(invalid)")
    }
  }

  @Test("agrees with strtof bit for bit on random decimals (four seeded batches; 2,000,000 in a long run)",
    arguments: 0..<4)
  func agreesWithStrtof(batch: Int) {
    var random = SplitMix64(seed: 42 &+ UInt64(batch))
    var fastPathCount = 0
    var subnormalCount = 0
    for _ in 0..<TestScale.count(quick: 25_000, long: 500_000) {
      let text = randomDecimal(&random)
      let expected = strtofValue(text)
      switch DecimalParser.parse(text) {
      case .value(let value):
        #expect(value.bitPattern == expected.bitPattern, "\(text)")
        if text.count < 9 { fastPathCount += 1 }
        if value.isSubnormal { subnormalCount += 1 }
      case .outOfRange:
        #expect(expected.isInfinite, "\(text)")
      case .invalid:
        Issue.record("rejected valid text \(text)")
      }
    }
    #expect(fastPathCount > 50)
    #expect(subnormalCount > 5)
  }

  @Test("the row parser's one-pass number reader equals strtod, stops at the field's end and declines only past 19 digits or 9.1e37")
  func fieldReaderMatchesReference() {
    var random = SplitMix64(seed: 7)
    // What may follow a number in a row: a byte that cannot continue it, then anything; or
    // the end of the buffer.
    let terminators: [String] = [",", "\n", "\r\n", " ", "x", "\"", ""]
    for _ in 0..<TestScale.count(quick: 20_000, long: 300_000) {
      let number = randomDecimal(&random)
      let terminator = terminators[Int(random.next() % UInt64(terminators.count))]
      var bytes = Array((number + terminator).utf8)
      if !terminator.isEmpty {
        bytes.append(contentsOf: Array("12345678".utf8).prefix(Int(random.next() % 9)))
      }
      let mantissa = number.lowercased().split(separator: "e")[0]
      let digitCount = mantissa.utf8.filter { $0 &- 48 < 10 }.count
      let reference = strtodValue(number)
      bytes.withUnsafeBufferPointer { buffer in
        var position = 0
        let value = DecimalParser.parseFieldDouble(buffer.baseAddress!, &position, end: buffer.count)
        if let value {
          #expect(position == number.utf8.count, "\(number)\(terminator)")
          #expect(value.bitPattern == reference.bitPattern, "\(number)")
        } else {
          #expect(digitCount > 19 || abs(reference) > DecimalParser.fieldMagnitudeLimit, "declined \(number)")
        }
      }
    }
  }

  @Test("eight digits at a time: value and length of the leading digit run of any 8 bytes")
  func eightDigitPrefix() {
    var random = SplitMix64(seed: 11)
    let alphabet = Array("0123456789.,-e\n/:".utf8) + [0, 0x80, 0xFF]
    for _ in 0..<TestScale.count(quick: 20_000, long: 100_000) {
      let bytes = (0..<8).map { _ in
        random.next() % 2 == 0 ? UInt8(48 + random.next() % 10) : alphabet[Int(random.next() % UInt64(alphabet.count))]
      }
      let run = bytes.prefix { $0 &- 48 < 10 }
      let expected = run.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - 48) }
      let (value, count) = bytes.withUnsafeBytes { DecimalParser.eightDigitPrefix($0.baseAddress!) }
      #expect(count == run.count && value == expected, "\(bytes)")
    }
  }

  @Test("rounds hard cases exactly: halfway points, subnormals, limits",
    arguments: [
      "16777217", "16777219", "1.00000005960464477539062499", "1.000000059604644775390625",
      "1.00000005960464477539062501", "3.4028235e38", "3.40282346638528859811704183484516925440e38", "3.4028235677973366e38",
      "1.17549435e-38", "1.4e-45", "7e-46", "7.1e-46", "1e-50", "0.000000000000000000000000000000000000000000001",
      "123456789012345678901234567890", "0.1", "2.5e-5", "9999999999e-10", "1e10", "1e-10", "-0",
    ])
  func hardCases(text: String) {
    guard case .value(let value) = DecimalParser.parse(text) else {
      Issue.record("rejected \(text)")
      return
    }
    #expect(value.bitPattern == strtofValue(text).bitPattern)
  }

  @Test("rejects what is not a plain decimal",
    arguments: ["", "+", "-", ".", "e5", "1e", "1e+", "1e-", "NaN", "nan", "inf", "-inf", "Infinity",
      "0x1p3", "0x10", "1,000", "1.2.3", "1 2", "--1", "+-1", "1e5.5", "1d5", "١", "1_000", ".e1", "1f"])
  func rejects(text: String) {
    #expect(DecimalParser.parse(text) == .invalid)
  }

  @Test("reports values beyond Float32 range", arguments: ["3.40282356779733661637539395458142568448e38", "3.5e38", "1e39", "-1e300", "340282366920938463463374607431768211456"])
  func outOfRange(text: String) {
    #expect(DecimalParser.parse(text) == .outOfRange)
  }
}
