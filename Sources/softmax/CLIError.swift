/// How a command ends when it does not succeed.
enum CLIError: Error {
  /// The command line is wrong: exit status 2, usage shown.
  case usage(String, usage: String?)
  /// `--help` was given: the help goes to stdout, exit status 0.
  case helpRequested(String)
  /// The data, a model or a file is wrong, or training failed: exit status 1.
  case failure(String)
  /// SIGINT or SIGTERM stopped the command: exit status 128 + the signal number.
  case interrupted(signal: Int32, String)
  /// Another process of the same run (rank `rank`) failed and printed why: exit status 1,
  /// nothing printed here (`ProcessLaunch.agree`).
  case reportedElsewhere(rank: Int)

  var exitStatus: Int32 {
    switch self {
    case .usage: return 2
    case .helpRequested: return 0
    case .failure: return 1
    case .interrupted(let signal, _): return 128 + signal
    case .reportedElsewhere: return 1
    }
  }
}
