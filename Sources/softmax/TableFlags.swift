import SoftmaxRegression

/// The flags that say how a CSV table is read: its delimiter and header (every command that
/// reads CSV), and, for training, which columns are features, which are categorical, and
/// what a missing cell means. Scoring takes the last from the model.
enum TableFlags {
  /// How fields are separated and whether there is a header row.
  static let dialect: [CommandSpec.Option] = [
    .init(name: "delimiter", valueName: "CHAR", help: "Field separator: one ASCII character, or \\t for tab (default: , and tab for .tsv files)."),
    .init(name: "no-header", help: "The file has no header row: columns are named c1…cN (the label is the last unless --label)."),
  ]

  /// Which columns train, and how.
  static let columns: [CommandSpec.Option] = [
    .init(name: "ignore", valueName: "NAME[,NAME…]", help: "Columns to leave out (ids, names, dates)."),
    .init(name: "features", valueName: "NAME[,NAME…]", help: "Use only these columns as features."),
    .init(name: "categorical", valueName: "NAME[,NAME…]", help: "Read these columns as categories even where they hold numbers (a column with no number in its first 1,024 rows is categorical anyway); each level becomes a 0/1 feature."),
    .init(name: "max-levels", valueName: "N", help: "Most distinct values of a categorical column, ≥ 1 (default: 1000)."),
    .init(name: "missing", valueName: "RULE", help: "What a missing cell means: error (stop at it), mean (the column's training mean; for categories a level of its own) or drop (leave the row out) (default: error)."),
    .init(name: "na-values", valueName: "TOKEN[,TOKEN…]", help: "Cell texts that mean missing, besides an empty cell (default: \(TableEncoding.defaultMissingTokens.joined(separator: ","))); an empty value means none."),
  ]

  /// `schema` with the dialect flags applied; `path` decides the default delimiter.
  static func applyDialect(_ arguments: ParsedArguments, path: String, to schema: inout Dataset.Schema)
    throws(CLIError)
  {
    schema.hasHeader = !arguments.flag("no-header")
    if let text = arguments.string("delimiter") {
      let character = text == "\\t" || text == "tab" ? "\t" : text
      guard character.utf8.count == 1, let byte = character.utf8.first, byte < 0x80,
        byte != UInt8(ascii: "\""), byte != 10, byte != 13
      else {
        throw .usage("--delimiter \(text): must be one ASCII character other than a quote or a line break (\\t for tab)", usage: nil)
      }
      schema.delimiter = byte
    } else if isTabSeparated(path) {
      schema.delimiter = UInt8(ascii: "\t")
    }
  }

  /// Whether the file's name says tab-separated (`.tsv`, `.tab`, also gzip-compressed).
  static func isTabSeparated(_ path: String) -> Bool {
    let name = path.lowercased()
    return [".tsv", ".tab", ".tsv.gz", ".tab.gz"].contains { name.hasSuffix($0) }
  }

  /// `schema` with the column flags applied.
  static func applyColumns(_ arguments: ParsedArguments, to schema: inout Dataset.Schema) throws(CLIError) {
    schema.ignoredColumns = names(arguments.string("ignore"))
    schema.selectedFeatures = arguments.string("features").map(names)
    schema.categoricalColumns = names(arguments.string("categorical"))
    if let levels = try arguments.integer("max-levels", rule: "an integer ≥ 1", { $0 >= 1 }) {
      schema.maxLevels = levels
    }
    if let rule = arguments.string("missing") {
      guard let policy = MissingValuePolicy(rawValue: rule) else {
        let rules = MissingValuePolicy.allCases.map(\.rawValue).joined(separator: ", ")
        throw .usage("--missing \(rule): must be one of \(rules)", usage: nil)
      }
      schema.missing = policy
    }
    if let tokens = arguments.string("na-values") {
      schema.missingTokens = tokens.isEmpty ? [] : tokens.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
  }

  /// A comma-separated list of names (empty for nil).
  static func names(_ text: String?) -> [String] {
    guard let text, !text.isEmpty else { return [] }
    return text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
  }
}
