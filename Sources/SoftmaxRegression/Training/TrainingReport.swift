/// What happened during one training run.
public struct TrainingReport: Sendable {
  /// One line of the training history.
  public struct Epoch: Sendable, Equatable {
    /// Epoch number; 0 is the starting point (zero weights).
    public var epoch: Int
    /// J at the end of the epoch.
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
  }

  /// The solver used.
  public var solver: TrainingOptions.Solver
  /// Worker threads used.
  public var threadCount: Int
  /// Training rows m.
  public var rowCount: Int
  /// Epochs (optimizer steps) taken.
  public var epochs: Int
  /// Passes over the data (objective evaluations), line-search trials included.
  public var passes: Int
  /// J at the final weights, on the training rows as the trainer saw them (standardised
  /// when standardisation is on).
  public var objective: Double
  /// max|∇J| at the final weights.
  public var gradientMax: Double
  /// Training accuracy at the final weights.
  public var trainAccuracy: Double
  /// Why training stopped.
  public var stopReason: GradientDescent.StopReason
  /// Wall-clock seconds spent training (standardisation included, loading not).
  public var trainSeconds: Double
  /// One entry per epoch, starting with epoch 0.
  public var history: [Epoch]
}
