extension Dataset {
  /// What the caller expects of the data, whatever its format: which column is the label,
  /// which holds weights, and, for data scored by a model, the model's features and classes.
  ///
  /// A reader chooses the columns it can while it reads (CSV: by header name), then every
  /// reader's dataset goes through the one step `conform`, which checks what the reader
  /// could not, puts the features in the schema's order and maps the classes to the
  /// schema's.
  public struct Schema: Sendable {
    /// The label column's name; nil means the last column.
    public var labelColumn: String?
    /// When set, exactly these feature columns (matched by name, in any order) plus the label
    /// column are expected; features are stored in this order. Used to read data for a model.
    public var featureNames: [String]?
    /// When set, labels must be among these classes (in this class order).
    public var classNames: [String]?
    /// Whether rows must have a label column (training, evaluation) or may lack one
    /// (prediction, where a label column present is skipped without validation).
    public var requiresLabels: Bool
    /// A column of per-row weights (finite, ≥ 0), read into `Dataset.rowWeights` and not
    /// used as a feature. Default nil.
    public var weightColumn: String? = nil
    /// Columns read past, by name. Default none.
    public var ignoredColumns: [String] = []
    /// When set, only these columns (by name) are features; every other column except the
    /// label and weight columns is read past. Default nil: every other column.
    public var selectedFeatures: [String]? = nil
    /// Columns read as categorical even when their values are numbers (zip codes, codes
    /// 1–5). Without it, a feature column is categorical when most of its values in the
    /// first `ColumnEncoding.sampleRowCount` rows are not numbers (missing cells aside); a
    /// value of the other kind anywhere in the column is then a located error, never a
    /// silent change of kind.
    public var categoricalColumns: [String] = []
    /// The cell texts that mean "missing", besides the empty cell (matched after trimming
    /// spaces in numeric columns, exactly in text columns).
    public var missingTokens: [String] = TableEncoding.defaultMissingTokens
    /// What to do with a missing cell. Default `.error`.
    public var missing: MissingValuePolicy = .error
    /// The most levels a categorical column may have; more is an error suggesting to
    /// ignore the column (an id or name column must not become 100,000 features).
    public var maxLevels = 1000
    /// The byte between CSV fields: `,` by default; tab and `;` are common. Not `"`, CR,
    /// LF or NUL. Binary formats ignore it.
    public var delimiter = UInt8(ascii: ",")
    /// Whether a CSV file's first row names its columns. Without a header, columns are
    /// named `c1`…`cN`.
    public var hasHeader = true
    /// For data scored by a model: the model's table (column kinds, levels, fills), which
    /// decides how raw columns are read instead of the data itself.
    public var table: TableEncoding? = nil
    /// Whether training data must have 2 classes or more (off for one part of several).
    var checksClassCount = true

    /// The schema for training: label by name or the last column, every other column a feature.
    public static func training(labelColumn: String? = nil, weightColumn: String? = nil) -> Schema {
      Schema(
        labelColumn: labelColumn, featureNames: nil, classNames: nil, requiresLabels: true,
        weightColumn: weightColumn)
    }

    /// The schema for data scored by an existing model.
    public static func matching(
      featureNames: [String], classNames: [String], labelColumn: String, requiresLabels: Bool
    ) -> Schema {
      Schema(
        labelColumn: labelColumn, featureNames: featureNames, classNames: classNames,
        requiresLabels: requiresLabels)
    }

    /// The schema for data scored by `model`: its features, or its table's raw columns when
    /// the model encodes categories or missing values; a label column is required when
    /// `requiresLabels`, else skipped.
    public static func scoring(_ model: SoftmaxModel, requiresLabels: Bool) -> Schema {
      var schema = matching(
        featureNames: model.featureNames, classNames: model.classNames, labelColumn: model.labelName,
        requiresLabels: requiresLabels)
      if !model.table.isPlain {
        schema.table = model.table
        schema.missingTokens = model.table.missingTokens
        schema.missing = model.table.missing
      }
      return schema
    }

    /// `dataset`, read from `file`, as this schema asks: features in the schema's order,
    /// classes mapped to the schema's, labels dropped when they are not required, weights
    /// kept only when a weight column was asked for.
    /// - Throws: `DatasetError` naming `file`: missing labels, too few classes for training,
    ///   features that differ from the schema's, or a class the schema does not know
    ///   (`.unknownClass`, without a line: a reader that can locate it checks first).
    func conform(_ dataset: Dataset, file: String) throws(DatasetError) -> Dataset {
      if requiresLabels && !dataset.isLabeled {
        throw DatasetError(file: file, columnName: dataset.labelName, reason: .missingLabelColumn)
      }
      guard let expectedFeatures = featureNames, let expectedClasses = classNames else {
        if requiresLabels && checksClassCount && dataset.classCount < 2 {
          throw DatasetError(
            file: file, columnName: dataset.labelName, value: dataset.classNames.first,
            reason: .tooFewClasses(dataset.classCount))
        }
        return dataset.keepingWeights(weightColumn != nil)
      }
      let (matrix, encoding) = try dataset.columns(in: expectedFeatures, file: file)
      guard requiresLabels else {
        return Dataset(
          features: matrix, encoding: encoding, labels: [], classNames: expectedClasses,
          featureNames: expectedFeatures, labelName: dataset.labelName, table: table,
          ingest: dataset.ingest)
      }
      let remap = try Self.classIndices(of: dataset, in: expectedClasses, file: file)
      return Dataset(
        features: matrix, encoding: encoding, labels: dataset.labels.map { remap[Int($0)] },
        classNames: expectedClasses, featureNames: expectedFeatures, labelName: dataset.labelName,
        table: table, ingest: dataset.ingest)
    }

    /// For each of the dataset's classes, its index among `classes`.
    private static func classIndices(
      of dataset: Dataset, in classes: [String], file: String
    ) throws(DatasetError) -> [Int32] {
      var classIndex: [ExactText: Int32] = [:]
      for (index, name) in classes.enumerated() { classIndex[ExactText(name)] = Int32(index) }
      var remap: [Int32] = []
      for name in dataset.classNames {
        guard let index = classIndex[ExactText(name)] else {
          throw DatasetError(
            file: file, columnName: dataset.labelName, value: name, reason: .unknownClass(known: classes))
        }
        remap.append(index)
      }
      return remap
    }
  }

  /// This dataset with its row weights, or without them.
  fileprivate func keepingWeights(_ keep: Bool) -> Dataset {
    guard !keep && rowWeights != nil else { return self }
    return Dataset(
      features: features, encoding: encoding, labels: labels, classNames: classNames,
      featureNames: featureNames, labelName: labelName, table: table, ingest: ingest)
  }

  /// The matrix with its columns in the order of `names` (itself when already so), and the
  /// encoding to match.
  fileprivate func columns(in names: [String], file: String) throws(DatasetError)
    -> (FeatureMatrix, ColumnEncoding)
  {
    if names == featureNames { return (features, encoding) }
    var indexByName: [String: Int] = [:]
    for (index, name) in featureNames.enumerated() { indexByName[name] = index }
    let source = names.compactMap { indexByName[$0] }
    guard source.count == names.count && names.count == featureNames.count else {
      let missing = names.filter { indexByName[$0] == nil }
      let extra = featureNames.filter { !Set(names).contains($0) }
      throw DatasetError(
        file: file,
        reason: .cacheMismatch(
          "the data's features differ from the model's (missing: \(missing.joined(separator: ", ")); "
            + "not in the model: \(extra.joined(separator: ", ")))"))
    }
    let matrix: FeatureMatrix
    do {
      matrix = try FeatureMatrix(rowCount: rowCount, featureCount: featureCount)
    } catch {
      throw error.located(in: file)
    }
    for row in 0..<rowCount {
      let from = features.rowPointer(row)
      let to = matrix.rowPointer(row)
      for (column, sourceColumn) in source.enumerated() { to[column] = from[sourceColumn] }
    }
    let reordered = ColumnEncoding(
      validatedOffset: source.map { encoding.offset[$0] }, exponent: source.map { encoding.exponent[$0] })
    return (matrix, reordered)
  }
}

extension Dataset.Schema {
  /// The table options a message may point to, named as the library spells them or as the
  /// command line does.
  public enum Option: String, Sendable, Equatable, CaseIterable {
    case missing, missingTokens, categorical, ignore, features, maxLevels, delimiter

    /// How an option is named in a message.
    public enum Style: Sendable {
      /// `Schema.missing`, for library users.
      case library
      /// `--missing`, for the command line.
      case flags
    }

    /// The option's name in `style`.
    public func name(_ style: Style) -> String {
      switch (self, style) {
      case (.missing, .library): "Schema.missing"
      case (.missing, .flags): "--missing"
      case (.missingTokens, .library): "Schema.missingTokens"
      case (.missingTokens, .flags): "--na-values"
      case (.categorical, .library): "Schema.categoricalColumns"
      case (.categorical, .flags): "--categorical NAME"
      case (.ignore, .library): "Schema.ignoredColumns"
      case (.ignore, .flags): "--ignore NAME"
      case (.features, .library): "Schema.selectedFeatures"
      case (.features, .flags): "--features"
      case (.maxLevels, .library): "Schema.maxLevels"
      case (.maxLevels, .flags): "--max-levels"
      case (.delimiter, .library): "Schema.delimiter"
      case (.delimiter, .flags): "--delimiter"
      }
    }
  }
}

extension Dataset {
  /// The former name of `Schema`, kept so that code written against it still builds.
  public typealias CSVSchema = Schema
}
