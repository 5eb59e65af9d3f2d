#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import SoftmaxRegression

/// The `softmax` command: train, predict, evaluate, generate, convert.
let commands: [(spec: CommandSpec, run: (ParsedArguments) throws(CLIError) -> Void)] = [
  (TrainCommand.spec, TrainCommand.run),
  (PredictCommand.spec, PredictCommand.run),
  (EvaluateCommand.spec, EvaluateCommand.run),
  (GenerateCommand.spec, GenerateCommand.run),
  (ConvertCommand.spec, ConvertCommand.run),
  (SplitCommand.spec, SplitCommand.run),
]

let overview = """
  softmax: data-parallel softmax regression.

  Usage: softmax COMMAND [arguments] [options]

  Commands:
  \(commands.map { "  \($0.spec.name.padding(9)) \($0.spec.summary)" }.joined(separator: "\n"))

  Run 'softmax COMMAND --help' for a command's arguments and options;
  'softmax --version' prints the version.
  """

/// The first argument that is not valid UTF-8, shown with its bad bytes as `\xNN`: Swift
/// strings would silently replace those bytes, so a file name would name another file.
func firstNonUTF8Argument() -> String? {
  for index in 1..<Int(CommandLine.argc) {
    guard let pointer = CommandLine.unsafeArgv[index] else { continue }
    let bytes = UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))
    guard String(validating: bytes, as: UTF8.self) == nil else { continue }
    return bytes.map { $0 < 0x80 ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16, uppercase: true) }
      .joined()
  }
  return nil
}

/// Fills a closed standard descriptor with /dev/null opened the wrong way round, so that it
/// still fails as closed (EBADF: "Bad file descriptor") and no file or internal descriptor
/// opened later (a data file, libdispatch's event descriptor) takes its number and receives
/// the output meant for it.
func reserveClosedStandardDescriptors() {
  for descriptor: Int32 in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
    let placeholder = open("/dev/null", (descriptor == 0 ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
    if placeholder >= 0 && placeholder != descriptor {
      dup2(placeholder, descriptor)
      close(placeholder)
    }
  }
}

@MainActor
func main() -> Int32 {
  reserveClosedStandardDescriptors()
  let arguments = Array(CommandLine.arguments.dropFirst())
  if let argument = firstNonUTF8Argument() {
    Console.error(
      "softmax: the argument \"\(TerminalText.escaped(argument, keepingNewlines: false))\" is not valid UTF-8; "
        + "file names and options must be UTF-8 (rename the file)")
    return 2
  }
  guard let name = arguments.first else {
    Console.error(overview)
    return 2
  }
  if name == "--help" || name == "-h" || name == "help" {
    Console.output(overview)
    return 0
  }
  if name == "--version" {
    Console.output("softmax \(PackageVersion.current)")
    return 0
  }
  guard let command = commands.first(where: { $0.spec.name == name }) else {
    Console.error("softmax: unknown command '\(name)'\n\n\(overview)")
    return 2
  }
  do throws(CLIError) {
    if command.spec.name != TrainCommand.spec.name { try ProcessLaunch.refuseSeveral(command.spec.name) }
    let parsed = try command.spec.parse(Array(arguments.dropFirst()))
    try command.run(parsed)
    Console.flush()
    if let failure = Console.outputFailureMessage {
      Console.error("softmax \(name): error: \(failure)")
      return 1
    }
    return 0
  } catch {
    guard ProcessLaunch.printsErrors else { return error.exitStatus }
    switch error {
    case .helpRequested(let help):
      Console.output(help)
    case .usage(let message, let usage):
      Console.error("softmax \(name): \(message)")
      Console.error("usage: \(usage ?? command.spec.usage)  (see 'softmax \(name) --help')")
    case .failure(let message):
      // Messages quote values from the data: their control characters are shown, not sent.
      Console.error("softmax \(name): error: \(TerminalText.escaped(message, keepingNewlines: true))")
    case .interrupted(_, let message):
      Console.error("softmax \(name): \(message)")
    case .reportedElsewhere:
      break
    }
    Console.flush()
    return error.exitStatus
  }
}

exit(main())
