/// What happened during one training run.
public struct TrainingReport: Sendable, Equatable, Codable {
  /// One line of the training history.
  public struct Epoch: Sendable, Equatable, Codable {
    /// Epoch number; 0 is the starting point.
    public var epoch: Int
    /// J at the end of the epoch, on the training rows.
    public var objective: Double
    /// max|∇J| at the end of the epoch.
    public var gradientMax: Double
    /// Training accuracy at the end of the epoch.
    public var accuracy: Double
    /// Passes over the data so far.
    public var passes: Int
    /// Seconds since training started.
    public var elapsedSeconds: Double
    /// Rows processed per second during this epoch (rows × passes / seconds).
    public var rowsPerSecond: Double
    /// Mean log loss on the validation rows, when there are any.
    public var validationLoss: Double?
    /// Accuracy on the validation rows, when there are any.
    public var validationAccuracy: Double?
  }

  /// The solver used; with `.auto`, the method it ended with (`.lbfgs`, or `.newton` when
  /// it handed over).
  public var solver: TrainingOptions.Solver
  /// With `.auto`: the epoch after which Newton took over from L-BFGS; nil when it did not.
  public var handoverEpoch: Int?
  /// Per class, the weights of the returned model that are not zero (of D each; an elastic
  /// net sets some exactly to zero).
  public var nonzeroWeights: [Int]
  /// Worker threads used.
  public var threadCount: Int
  /// Training rows (after a validation split).
  public var rowCount: Int
  /// Validation rows (0 without a split).
  public var validationRowCount: Int
  /// Epochs taken.
  public var epochs: Int
  /// Passes over the data (objective evaluations, line-search trials included).
  public var passes: Int
  /// J at the returned weights, on the training rows as the trainer saw them (standardised
  /// when standardisation is on, weighted when weights are on).
  public var objective: Double
  /// max|∇J| at the returned weights.
  public var gradientMax: Double
  /// Training accuracy at the returned weights.
  public var trainAccuracy: Double
  /// The epoch whose weights were returned (the best validation epoch under early stopping,
  /// else the last).
  public var returnedEpoch: Int
  /// Why training stopped.
  public var stopReason: StopReason
  /// Wall-clock seconds spent training (standardisation included, loading not).
  public var trainSeconds: Double
  /// One entry per epoch, starting with epoch 0.
  public var history: [Epoch]
}
