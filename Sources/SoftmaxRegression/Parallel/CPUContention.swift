#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How much CPU other work took while a measurement ran: the machine's busy time (from
/// `/proc/stat`, steal time included: a hypervisor's other guests) minus this process's own
/// CPU time and its waited-for children's, per second of wall time.
///
/// For benchmarks on shared machines: a timing taken while other work used a sizeable part
/// of a core is not a measurement of this code. Linux only; elsewhere `otherCores` is nil.
public struct CPUContention: Sendable {
  /// Busy and total time of all CPUs, and this process's CPU time, at one instant.
  struct Snapshot {
    var machineBusy: Double
    var ownCPU: Double
    var wall: ContinuousClock.Instant

    static func now() -> Snapshot? {
      guard let busy = machineBusySeconds() else { return nil }
      return Snapshot(machineBusy: busy, ownCPU: ownCPUSeconds(), wall: ContinuousClock.now)
    }
  }

  private let start: Snapshot?

  /// Starts measuring now.
  public init() {
    start = Snapshot.now()
  }

  /// The average number of cores other work kept busy since `init` (0.5: half a core), or
  /// nil where the machine's CPU times cannot be read.
  public var otherCores: Double? {
    guard let start, let end = Snapshot.now() else { return nil }
    let wall = Double((end.wall - start.wall).components.attoseconds) / 1e18
      + Double((end.wall - start.wall).components.seconds)
    guard wall > 0 else { return nil }
    let others = (end.machineBusy - start.machineBusy) - (end.ownCPU - start.ownCPU)
    return max(0, others / wall)
  }

  /// The fraction of a core above which `isBusy` says a timing is unreliable.
  public static let busyThreshold = 0.15

  /// Whether other work took more than `busyThreshold` cores on average.
  public var isBusy: Bool { (otherCores ?? 0) > Self.busyThreshold }

  /// Seconds all CPUs spent busy (user, nice, system, irq, softirq, steal) since boot.
  private static func machineBusySeconds() -> Double? {
    #if os(Linux)
      guard let file = fopen("/proc/stat", "r") else { return nil }
      defer { fclose(file) }
      var line = [CChar](repeating: 0, count: 512)
      guard fgets(&line, Int32(line.count), file) != nil else { return nil }
      let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let fields = text.split(separator: " ").dropFirst().compactMap { Double($0) }
      // user nice system idle iowait irq softirq steal ...
      guard fields.count >= 8 else { return nil }
      let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
      return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    #else
      return nil
    #endif
  }

  /// CPU seconds (user and system) of this process and of its children it has waited for.
  private static func ownCPUSeconds() -> Double {
    func seconds(_ who: Int32) -> Double {
      var usage = rusage()
      getrusage(who, &usage)
      return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
    return seconds(RUSAGE_SELF.rawValue) + seconds(RUSAGE_CHILDREN.rawValue)
  }
}
