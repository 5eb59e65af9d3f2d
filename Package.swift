// swift-tools-version: 6.1
import PackageDescription

// MARK: - CPU target for the numeric kernels
//
// A plain `swift build -c release` targets baseline x86-64 (SSE2): no AVX, no FMA, and
// `SIMD8<Float>.addingProduct` then becomes a libm `fmaf` call per lane (~30x slower).
// A development checkout (main, or any commit that is not a release tag) therefore builds
// for x86-64-v3 (AVX2 + FMA: Intel Haswell 2013+, AMD Zen) and defines `SOFTMAX_FMA`, so the
// kernels use fused multiply-adds on 8-lane vectors.
//
// SwiftPM refuses `unsafeFlags` in version-pinned dependencies (checked with Swift 6.3,
// whatever the traits say). When this package is checked out at a release tag (the way a
// dependency is), or when `SOFTMAX_PORTABLE=1` is set, the flag is left out: the Swift code
// then builds for the toolchain's default CPU (multiplies and adds apart, plain SSE, not a
// libm call per lane), and the training kernel runs its C build (target CKernel, which
// carries a target attribute instead of a flag) where the CPU has AVX2 and FMA. See README,
// "CPU target, and using the package as a dependency".
let archIsX86_64: Bool = {
  #if arch(x86_64)
    return true
  #else
    return false
  #endif
}()
let atReleaseTag = Context.gitInformation?.currentTag != nil
let portableRequested = Context.environment["SOFTMAX_PORTABLE"].map { $0 == "1" } ?? false
let kernelSettings: [SwiftSetting] =
  archIsX86_64 && !atReleaseTag && !portableRequested
  ? [.define("SOFTMAX_FMA"), .unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
  : []

let package = Package(
  name: "softmax",
  products: [
    .library(name: "SoftmaxRegression", targets: ["SoftmaxRegression"]),
    .executable(name: "softmax", targets: ["softmax"]),
    .executable(name: "softmax-bench", targets: ["softmax-bench"]),
  ],
  traits: [
    .trait(
      name: "MPI",
      description: "Train across processes and hosts with MPI (needs Open MPI or MPICH: "
        + "libopenmpi-dev). Off by default: without it nothing of MPI is built or linked."),
  ],
  targets: [
    // MARK: - Library
    .target(
      name: "SoftmaxRegression",
      dependencies: [
        "CPrefetch", "CKernel", "CZlib", .target(name: "CMPI", condition: .when(traits: ["MPI"])),
      ],
      swiftSettings: kernelSettings
    ),
    // Cache prefetch hints (one static inline C function): Swift has no prefetch intrinsic.
    .target(name: "CPrefetch"),
    // The Float32 kernel for AVX2 + FMA, chosen at run time: what a build without the CPU
    // flag above (a dependency at a release tag) runs on x86-64 (see GradientKernel.swift).
    .target(name: "CKernel"),
    // zlib, for .csv.gz data: a system library on every Linux, not a package dependency.
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    // MPI, with the `MPI` trait only: its headers are found through pkg-config (they are not
    // on the default include path); the shim wraps the macros Swift cannot import.
    .systemLibrary(
      name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

    // MARK: - Command-line tool
    .executableTarget(
      name: "softmax",
      dependencies: ["SoftmaxRegression"],
      swiftSettings: kernelSettings
    ),

    // MARK: - Benchmarks
    .executableTarget(
      name: "softmax-bench",
      dependencies: ["SoftmaxRegression", "CKernel"],
      path: "Benchmarks/softmax-bench",
      swiftSettings: kernelSettings
    ),

    // MARK: - Tests
    .testTarget(
      name: "SoftmaxRegressionTests",
      dependencies: ["SoftmaxRegression"],
      swiftSettings: kernelSettings
    ),
  ],
  swiftLanguageModes: [.v6]
)
