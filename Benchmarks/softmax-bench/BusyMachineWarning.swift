import SoftmaxRegression

/// The lines a benchmark prints about the conditions of its measurements: other work seen
/// while they ran (`CPUContention`), and speedups above what the machine allows.
enum BusyMachineWarning {
  /// A warning per measurement during which other work kept more than
  /// `CPUContention.busyThreshold` cores busy, with `label` naming the measurement.
  static func lines(_ measurements: [(label: String, otherCores: Double?)]) -> [String] {
    measurements.compactMap { label, others in
      guard let others, others > CPUContention.busyThreshold else { return nil }
      return "WARNING: the machine was busy during the \(label) measurement: other work used \(fixed(others, 2)) "
        + "cores on average; its timing is not reliable (rerun on an idle machine)"
    }
  }

  /// The note for a thread-scaling efficiency above 100%: the baseline was slowed, not the
  /// code made superlinear.
  static let efficiencyAboveCeiling =
    "note: an efficiency above 100% means the one-thread run was slower than the machine's own scaling "
    + "allows (other work during it, or clock-frequency changes), not that threads gained more than cores"
}
