#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Foundation
import SoftmaxRegression
import Synchronization

/// Set once `train` has started its processes; from then on failures are agreed by vote
/// and the failing rank prints its own (`ProcessLaunch.printsErrors`).
let processVotesStarted = Atomic<Bool>(false)

/// How `softmax` runs when a launcher (mpirun, mpiexec, srun) starts it as several
/// processes: `train` spreads over them in a build with the `MPI` trait; every other
/// command, and every command of a build without MPI, refuses, rather than run several
/// copies that would each write the same files.
///
/// Failures are agreed: each stage of `train` ends in a vote, the lowest failing rank
/// prints its error, and every rank exits non-zero (the others silently,
/// `CLIError.reportedElsewhere`), so no rank waits forever for another.
enum ProcessLaunch {
  /// The environment variables in which launchers give the process count (Open MPI, MPICH
  /// and Intel MPI's Hydra, Slurm's srun) and the rank (PMIx gives only the rank).
  static let countVariables = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"]
  static let rankVariables = ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"]

  /// Whether a launcher started this process as one of several: a count above 1, or a
  /// rank above 0, in its environment.
  static var startedAsSeveral: Bool {
    countVariables.contains { (integer($0) ?? 1) > 1 } || rankVariables.contains { (integer($0) ?? 0) > 0 }
  }

  /// The environment variable `name` as an integer, if set to one.
  private static func integer(_ name: String) -> Int? { getenv(name).flatMap { Int(String(cString: $0)) } }

  /// Whether this process prints an error: the launcher's rank 0 for errors every rank
  /// meets alike (a wrong flag, a build without MPI), any rank once the stages vote.
  static var printsErrors: Bool {
    if processVotesStarted.load(ordering: .relaxed) { return true }
    return !rankVariables.contains { (integer($0) ?? 0) > 0 }
  }

  /// Refuses to run `command` as one of several processes: only `train` spreads over them,
  /// and only with MPI.
  static func refuseSeveral(_ command: String) throws(CLIError) {
    guard startedAsSeveral else { return }
    let why =
      command == "train"
      ? "this softmax was built without MPI, so the processes would train the same model "
        + "separately and write the same files; build it with 'swift build -c release --traits MPI' "
        + "(README, \"Across processes and hosts\"), or run it without the launcher"
      : "'softmax \(command)' runs in one process (only train spreads over several); run it without the launcher"
    throw .failure("started by an MPI launcher as one of several processes: \(why)")
  }

  /// The processes `train` runs over: MPI's world in a build with MPI (one process when
  /// no launcher started it), else this process alone.
  static func trainingProcesses() throws(CLIError) -> any ProcessGroup {
    #if MPI
      do {
        let processes = try MPIProcesses.start()
        processVotesStarted.store(true, ordering: .relaxed)
        return processes
      } catch {
        throw .failure(error.description)
      }
    #else
      try refuseSeveral("train")
      return SingleProcess()
    #endif
  }

  /// The launchers' variables for the number of ranks on this host (Open MPI, MPICH's
  /// Hydra, Slurm).
  static let localCountVariables = ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"]

  /// The threads a rank takes when `--threads` is not given: the cores it is bound to, or,
  /// unbound, the host's cores shared among the ranks on it (so that N ranks on one host
  /// do not each start a thread per core).
  static func defaultThreadCount() -> Int {
    let cores = ShardedExecutor.availableCoreCount
    guard cores == ProcessInfo.processInfo.activeProcessorCount else { return cores }  // bound
    let local = localCountVariables.lazy.compactMap(integer).first ?? 1
    return max(1, cores / max(1, local))
  }

  /// Ends MPI, where it was started.
  static func finish(_ processes: any ProcessGroup) {
    #if MPI
      if processes is MPIProcesses { MPIProcesses.finish() }
    #endif
  }

  /// The vote that ends a stage: when `failure` is set here or on any other process, every
  /// process throws: the lowest failing rank its own error, the others `.reportedElsewhere`
  /// with the same exit status class (1).
  static func agree(_ processes: any ProcessGroup, _ failure: CLIError?) throws(CLIError) {
    guard processes.count > 1 else {
      if let failure { throw failure }
      return
    }
    // A stop for another process's failure is not one to report.
    var ownFailure = failure != nil
    if case .reportedElsewhere = failure { ownFailure = false }
    guard let first = processes.firstFailure(ownFailure) else {
      if let failure { throw failure }
      return
    }
    if first == processes.rank, let failure { throw failure }
    throw .reportedElsewhere(rank: first)
  }

  /// The signal any process received (the highest number), so that all stop as one.
  static func agreedSignal(_ processes: any ProcessGroup) -> Int32? {
    var signal: [Int64] = [Int64(Interruption.received ?? 0)]
    processes.maximum(&signal)
    return signal[0] == 0 ? nil : Int32(signal[0])
  }
}
