/// A command's declared interface: positionals and options with their help text. Parsing
/// and `--help` both come from this one declaration.
struct CommandSpec: Sendable {
  struct Positional: Sendable {
    let name: String
    let help: String
  }

  struct Option: Sendable {
    /// The long name without dashes, e.g. "lambda".
    let name: String
    /// A one-letter alias, e.g. "o" for `-o`.
    var short: Character? = nil
    /// The value's placeholder; nil for a flag that takes no value.
    var valueName: String? = nil
    let help: String
  }

  let name: String
  let summary: String
  let positionals: [Positional]
  let options: [Option]
  /// The positional that may be given several times (`train part-*.csv`), if any.
  var repeated: Int? = nil

  var usage: String {
    var parts = ["softmax", name]
    for (index, positional) in positionals.enumerated() {
      parts.append(positional.name + (index == repeated ? " …" : ""))
    }
    if !options.isEmpty { parts.append("[options]") }
    return parts.joined(separator: " ")
  }

  var help: String {
    var lines = ["\(summary)", "", "Usage: \(usage)"]
    if !positionals.isEmpty {
      lines += ["", "Arguments:"]
      let width = positionals.map(\.name.count).max() ?? 0
      for positional in positionals {
        lines.append("  \(positional.name.padding(width))  \(positional.help)")
      }
    }
    let allOptions = options + [Option(name: "help", short: "h", help: "Show this help.")]
    let labels = allOptions.map { option -> String in
      let short = option.short.map { "-\($0), " } ?? "    "
      return short + "--\(option.name)" + (option.valueName.map { " \($0)" } ?? "")
    }
    let width = labels.map(\.count).max() ?? 0
    lines += ["", "Options:"]
    for (label, option) in zip(labels, allOptions) {
      lines.append("  \(label.padding(width))  \(option.help)")
    }
    return lines.joined(separator: "\n")
  }

  /// Parses `arguments` (those after the command name).
  /// - Throws: `CLIError.usage` for unknown options, missing values or positionals.
  func parse(_ arguments: [String]) throws(CLIError) -> ParsedArguments {
    var parsed = ParsedArguments(command: name)
    var index = 0
    var onlyPositionals = false
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
        parsed.positionals.append(argument)
        continue
      }
      if argument == "--" {
        onlyPositionals = true
        continue
      }
      if argument == "--help" || argument == "-h" {
        throw .helpRequested(help)
      }
      var name = argument
      var inlineValue: String? = nil
      if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
        name = String(argument[..<equals])
        inlineValue = String(argument[argument.index(after: equals)...])
      }
      guard let option = lookup(name) else {
        throw .usage("unknown option '\(name)' for '\(self.name)'", usage: usage)
      }
      if option.valueName == nil {
        guard inlineValue == nil else {
          throw .usage("--\(option.name) takes no value", usage: usage)
        }
        parsed.flags.insert(option.name)
        continue
      }
      let value: String
      if let inlineValue {
        value = inlineValue
      } else {
        guard index < arguments.count else {
          throw .usage("--\(option.name) needs a value (\(option.valueName ?? ""))", usage: usage)
        }
        value = arguments[index]
        index += 1
      }
      guard parsed.values[option.name] == nil else {
        throw .usage("--\(option.name) is given twice", usage: usage)
      }
      parsed.values[option.name] = value
    }
    guard parsed.positionals.count == positionals.count
      || (repeated != nil && parsed.positionals.count > positionals.count)
    else {
      let expected = positionals.map(\.name).joined(separator: " ")
      throw .usage(
        parsed.positionals.count < positionals.count
          ? "missing argument: expected \(expected)"
          : "unexpected argument '\(parsed.positionals[positionals.count])'",
        usage: usage)
    }
    return parsed
  }

  private func lookup(_ argument: String) -> Option? {
    if argument.hasPrefix("--") {
      let name = argument.dropFirst(2)
      return options.first { $0.name == name }
    }
    guard argument.count == 2, let letter = argument.last else { return nil }
    return options.first { $0.short == letter }
  }
}

/// The result of parsing, with typed accessors that validate values.
struct ParsedArguments {
  let command: String
  var positionals: [String] = []
  var values: [String: String] = [:]
  var flags: Set<String> = []

  func flag(_ name: String) -> Bool { flags.contains(name) }
  func string(_ name: String) -> String? { values[name] }

  func double(_ name: String, default fallback: Double? = nil, rule: String, _ isValid: (Double) -> Bool)
    throws(CLIError) -> Double?
  {
    guard let text = values[name] else { return fallback }
    guard case .value(let parsed) = DoubleText.parse(text), isValid(parsed) else {
      throw .usage("--\(name) \(text): must be \(rule)", usage: nil)
    }
    return parsed
  }

  func integer(_ name: String, default fallback: Int? = nil, rule: String, _ isValid: (Int) -> Bool)
    throws(CLIError) -> Int?
  {
    guard let text = values[name] else { return fallback }
    guard let parsed = Int(text), isValid(parsed) else {
      throw .usage("--\(name) \(text): must be \(rule)", usage: nil)
    }
    return parsed
  }
}

/// Strict decimal parsing for option values (Swift's `Double(String)` accepts "nan", "inf"
/// and hex, which options must not).
enum DoubleText {
  enum Result { case value(Double), invalid }

  static func parse(_ text: String) -> Result {
    let allowed = Set("+-0123456789.eE")
    guard !text.isEmpty, text.allSatisfy(allowed.contains), let value = Double(text),
      value.isFinite
    else { return .invalid }
    return .value(value)
  }
}

extension String {
  func padding(_ width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
