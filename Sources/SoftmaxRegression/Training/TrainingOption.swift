/// One training option, declared once: its name, what it does, the rule its value must
/// follow, and how it is read from text and checked. Its default is the value of a fresh
/// `TrainingOptions()`, read through the same declaration.
///
/// `TrainingOptions.validate()` checks every declared rule; the `softmax` CLI derives its
/// `train` flags, their help lines (rule and default included) and their parsing from the
/// same list, so a rule or a default is written in one place.
public struct TrainingOption {
  /// The option's name: `lambda`, `max-epochs`, … (the CLI flag is `--` + name).
  public let name: String
  /// The placeholder for its value in help text (`X`, `N`, `NAME`).
  public let valueName: String
  /// What the option does, without its rule or default.
  public let summary: String
  /// The rule a value must follow, as a phrase: "a finite number ≥ 0".
  public let rule: String
  private let readText: (inout TrainingOptions, String) -> Bool
  private let holds: (TrainingOptions) -> Bool
  private let describe: (TrainingOptions) -> String?

  /// The option's value in `options` as text, or nil when it is unset.
  public func value(in options: TrainingOptions) -> String? { describe(options) }

  /// The default, as text ("none" when unset by default).
  public var defaultText: String { describe(TrainingOptions()) ?? "none" }

  /// Sets the option in `options` from `text`.
  /// - Throws: `TrainingError.invalidOption` when the text is not a value of the right kind
  ///   or breaks the rule.
  public func read(_ text: String, into options: inout TrainingOptions) throws(TrainingError) {
    guard readText(&options, text), holds(options) else {
      throw .invalidOption(name: name, value: text, rule: rule)
    }
  }

  /// Checks the option's rule in `options`.
  func check(_ options: TrainingOptions) throws(TrainingError) {
    guard holds(options) else {
      throw .invalidOption(name: name, value: describe(options) ?? "none", rule: rule)
    }
  }
}

extension TrainingOption {
  /// Reads text with `parse` into the option at `keyPath`; false when it does not parse.
  private static func setter<Value>(
    _ keyPath: WritableKeyPath<TrainingOptions, Value>, _ parse: @escaping (String) -> Value?
  ) -> (inout TrainingOptions, String) -> Bool {
    { options, text in
      guard let value = parse(text) else { return false }
      options[keyPath: keyPath] = value
      return true
    }
  }

  /// Reads text with `parse` into the optional option at `keyPath`.
  private static func setter<Value>(
    _ keyPath: WritableKeyPath<TrainingOptions, Value?>, _ parse: @escaping (String) -> Value?
  ) -> (inout TrainingOptions, String) -> Bool {
    { options, text in
      guard let value = parse(text) else { return false }
      options[keyPath: keyPath] = value
      return true
    }
  }

  /// A Double option with a rule on finite values.
  static func number(
    _ name: String, _ keyPath: WritableKeyPath<TrainingOptions, Double>, valueName: String = "X",
    _ summary: String, rule: String, where isValid: @escaping (Double) -> Bool
  ) -> TrainingOption {
    TrainingOption(
      name: name, valueName: valueName, summary: summary, rule: rule,
      readText: setter(keyPath, OptionText.number),
      holds: { options in options[keyPath: keyPath].isFinite && isValid(options[keyPath: keyPath]) },
      describe: { options in "\(options[keyPath: keyPath])" })
  }

  /// An optional Double option (nil: unset).
  static func optionalNumber(
    _ name: String, _ keyPath: WritableKeyPath<TrainingOptions, Double?>, valueName: String = "X",
    _ summary: String, rule: String, where isValid: @escaping (Double) -> Bool
  ) -> TrainingOption {
    TrainingOption(
      name: name, valueName: valueName, summary: summary, rule: rule,
      readText: setter(keyPath, OptionText.number),
      holds: { options in options[keyPath: keyPath].map { $0.isFinite && isValid($0) } ?? true },
      describe: { options in options[keyPath: keyPath].map { "\($0)" } })
  }

  /// An integer option in a closed range.
  static func integer(
    _ name: String, _ keyPath: WritableKeyPath<TrainingOptions, Int>, _ summary: String,
    in range: ClosedRange<Int>
  ) -> TrainingOption {
    TrainingOption(
      name: name, valueName: "N", summary: summary, rule: OptionText.rule(for: range),
      readText: setter(keyPath) { Int($0) },
      holds: { options in range.contains(options[keyPath: keyPath]) },
      describe: { options in "\(options[keyPath: keyPath])" })
  }

  /// An optional integer option in a closed range (nil: unset).
  static func optionalInteger(
    _ name: String, _ keyPath: WritableKeyPath<TrainingOptions, Int?>, _ summary: String,
    in range: ClosedRange<Int>
  ) -> TrainingOption {
    TrainingOption(
      name: name, valueName: "N", summary: summary, rule: OptionText.rule(for: range),
      readText: setter(keyPath) { Int($0) },
      holds: { options in options[keyPath: keyPath].map(range.contains) ?? true },
      describe: { options in options[keyPath: keyPath].map { "\($0)" } })
  }

  /// An option whose values are the raw values of an enumeration.
  static func choice<Choice: RawRepresentable & CaseIterable>(
    _ name: String, _ keyPath: WritableKeyPath<TrainingOptions, Choice>, valueName: String,
    _ summary: String
  ) -> TrainingOption where Choice.RawValue == String {
    TrainingOption(
      name: name, valueName: valueName, summary: summary,
      rule: "one of " + Choice.allCases.map(\.rawValue).joined(separator: ", "),
      readText: setter(keyPath) { Choice(rawValue: $0) },
      holds: { _ in true },
      describe: { options in options[keyPath: keyPath].rawValue })
  }

  /// A 64-bit unsigned integer option (any value).
  static func seed(
    _ name: String, _ keyPath: WritableKeyPath<TrainingOptions, UInt64>, _ summary: String
  ) -> TrainingOption {
    TrainingOption(
      name: name, valueName: "N", summary: summary, rule: "an integer from 0 to \(UInt64.max)",
      readText: setter(keyPath) { UInt64($0) },
      holds: { _ in true },
      describe: { options in "\(options[keyPath: keyPath])" })
  }
}

/// Strict text forms of option values.
enum OptionText {
  /// A finite decimal number: digits, sign, point and exponent only (Swift's
  /// `Double(String)` also accepts "nan", "inf" and hexadecimal, which options must not).
  static func number(_ text: String) -> Double? {
    let allowed = Set("+-0123456789.eE")
    guard !text.isEmpty, text.allSatisfy(allowed.contains), let value = Double(text),
      value.isFinite
    else { return nil }
    return value
  }

  /// "an integer ≥ 1", or "an integer from 1 to 1000".
  static func rule(for range: ClosedRange<Int>) -> String {
    range.upperBound == Int.max
      ? "an integer ≥ \(range.lowerBound)"
      : "an integer from \(range.lowerBound) to \(range.upperBound)"
  }
}
