import Foundation

/// What the system lets this process allocate: the address-space limit (`ulimit -v`), the
/// memory limit of its cgroup (v1 or v2), and the memory the kernel reports available.
/// Read when needed; nil where a limit is not set or cannot be read.
public enum SystemMemory {
  /// The address-space limit in bytes (`RLIMIT_AS`), or nil when unlimited.
  public static var addressSpaceLimit: Int? {
    var limit = rlimit()
    #if canImport(Glibc)
      let resource = __rlimit_resource_t(RLIMIT_AS.rawValue)
    #else
      let resource = RLIMIT_AS
    #endif
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
    return Int(clamping: limit.rlim_cur)
  }

  /// The memory limit of this process's cgroup in bytes, or nil when there is none.
  public static var cgroupLimit: Int? {
    for path in cgroupLimitFiles {
      guard let text = try? String(contentsOfFile: path, encoding: .utf8),
        let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
      else { continue }
      // cgroup v1 says "no limit" with a page-rounded Int64.max.
      return value >= Int.max / 2 ? nil : value
    }
    return nil
  }

  /// Where this process's cgroup keeps its limit (from /proc/self/cgroup: `N:memory:/path`
  /// for v1, `0::/path` for v2), then the files at the root of the hierarchy (a container's
  /// own cgroup is mounted there).
  private static var cgroupLimitFiles: [String] {
    var files: [String] = []
    if let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) {
      for line in text.split(separator: "\n") {
        let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, fields[2] != "/" else { continue }
        if fields[1].split(separator: ",").contains("memory") {
          files.append("/sys/fs/cgroup/memory\(fields[2])/memory.limit_in_bytes")
        } else if fields[1].isEmpty {
          files.append("/sys/fs/cgroup\(fields[2])/memory.max")
        }
      }
    }
    return files + ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
  }

  /// `MemAvailable` from /proc/meminfo in bytes, or nil.
  public static var available: Int? {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
      let fields = line.split(separator: " ")
      if fields.count >= 2, let kibibytes = Int(fields[1]) { return kibibytes * 1024 }
    }
    return nil
  }

  /// The limits in words, for an error message: "address-space limit (ulimit -v) 300 MB".
  static var limitsDescription: String? {
    var parts: [String] = []
    if let limit = addressSpaceLimit { parts.append("address-space limit (ulimit -v) \(megabytes(limit))") }
    if let limit = cgroupLimit { parts.append("cgroup memory limit \(megabytes(limit))") }
    if let free = available { parts.append("\(megabytes(free)) available") }
    return parts.isEmpty ? nil : parts.joined(separator: ", ")
  }

  static func megabytes(_ bytes: Int) -> String {
    String(format: "%.1f MB", Double(bytes) / 1e6)
  }
}
