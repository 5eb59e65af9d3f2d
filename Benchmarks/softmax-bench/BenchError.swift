#if canImport(Glibc)
  import Glibc
#endif

import SoftmaxRegression

enum BenchError: Error {
  case usage(String)
  case failure(String)

  var message: String {
    switch self {
    case .usage(let message), .failure(let message): return message
    }
  }

  var exitStatus: Int32 {
    if case .usage = self { return 2 }
    return 1
  }
}

func printError(_ text: String) {
  let line = text + "\n"
  _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

/// `--name value` options and positionals, for the benchmark's small command lines.
struct BenchArguments {
  var positionals: [String] = []
  var values: [String: String] = [:]

  init(_ arguments: [String], known: Set<String>) throws(BenchError) {
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      guard argument.hasPrefix("--") else {
        positionals.append(argument)
        continue
      }
      let name = String(argument.dropFirst(2))
      guard known.contains(name) else { throw .usage("unknown option '\(argument)'") }
      guard index < arguments.count else { throw .usage("\(argument) needs a value") }
      values[name] = arguments[index]
      index += 1
    }
  }

  func integer(_ name: String, default fallback: Int, minimum: Int = 1) throws(BenchError) -> Int {
    guard let text = values[name] else { return fallback }
    guard let value = Int(text), value >= minimum else {
      throw .usage("--\(name) \(text): must be an integer ≥ \(minimum)")
    }
    return value
  }

  func integerList(_ name: String, default fallback: [Int]) throws(BenchError) -> [Int] {
    guard let text = values[name] else { return fallback }
    let values = text.split(separator: ",").map { Int($0) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
      throw .usage("--\(name) \(text): must be a comma-separated list of integers ≥ 1")
    }
    return values.map { $0! }
  }
}

/// The thread counts benchmarks try by default: powers of two up to the core count, and
/// the core count itself.
func defaultThreadCounts() -> [Int] {
  let cores = ShardedExecutor.availableCoreCount
  return Array(Set([1, 2, 4, 8, 16, 32, 64, 128].filter { $0 <= cores } + [cores])).sorted()
}

/// Prints rows of cells right-aligned in columns, two spaces apart.
func printTable(_ table: [[String]]) {
  guard let first = table.first else { return }
  let widths = first.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
  for line in table {
    print(zip(line, widths).map { String(repeating: " ", count: $1 - $0.count) + $0 }.joined(separator: "  "))
  }
}
