/// The version of this package, which both executables print with `--version`.
public enum PackageVersion {
  /// The version string: the next release, with `-dev` until it is tagged.
  public static let current = "0.3.0-dev"
}
