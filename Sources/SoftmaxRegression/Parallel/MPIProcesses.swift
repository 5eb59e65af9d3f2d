#if MPI
  import CMPI

  /// The processes of an MPI job (`mpirun`, `srun`), through the C shim of target CMPI.
  /// Built with the package trait `MPI` only.
  ///
  /// MPI's default error handler stays in force: a failed call ends the whole job (no
  /// process waits forever on one that is gone).
  public struct MPIProcesses: ProcessGroup {
    /// This process's rank in MPI_COMM_WORLD.
    public let rank: Int
    /// The size of MPI_COMM_WORLD.
    public let count: Int

    /// The largest count one MPI call carries (its `int` count); longer buffers go in pieces.
    private static let pieceCount = 1 << 30

    /// Initialises MPI (once per process; `MPI_THREAD_SERIALIZED`) and returns the world.
    /// A process started without a launcher is a world of one.
    /// - Throws: `TrainingError.distributed` when MPI cannot start.
    public static func start() throws(TrainingError) -> MPIProcesses {
      let code = softmax_mpi_init()
      guard code == 0 else { throw .distributed("MPI did not start (MPI_Init_thread error \(code))") }
      return MPIProcesses(rank: Int(softmax_mpi_rank()), count: Int(softmax_mpi_size()))
    }

    /// Ends MPI in this process (after the last collective call).
    public static func finish() { _ = softmax_mpi_finalize() }

    private init(rank: Int, count: Int) {
      self.rank = rank
      self.count = count
    }

    /// MPI_Send of the values (in pieces of 2³⁰), tag 0.
    public func send(_ values: UnsafeBufferPointer<Double>, to destination: Int) {
      for start in stride(from: 0, to: values.count, by: Self.pieceCount) {
        let length = min(Self.pieceCount, values.count - start)
        _ = softmax_mpi_send_doubles(values.baseAddress! + start, Int32(length), Int32(destination), 0)
      }
    }

    /// MPI_Recv of the values (in pieces of 2³⁰), tag 0.
    public func receive(_ values: UnsafeMutableBufferPointer<Double>, from source: Int) {
      for start in stride(from: 0, to: values.count, by: Self.pieceCount) {
        let length = min(Self.pieceCount, values.count - start)
        _ = softmax_mpi_receive_doubles(values.baseAddress! + start, Int32(length), Int32(source), 0)
      }
    }

    /// MPI_Bcast of the values (in pieces of 2³⁰) from `root`.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Double>, from root: Int) {
      for start in stride(from: 0, to: values.count, by: Self.pieceCount) {
        let length = min(Self.pieceCount, values.count - start)
        _ = softmax_mpi_broadcast_doubles(values.baseAddress! + start, Int32(length), Int32(root))
      }
    }

    /// MPI_Allreduce with MPI_MIN, in place.
    public func minimum(_ values: inout [Int64]) {
      let count = Int32(values.count)
      values.withUnsafeMutableBufferPointer { buffer in
        buffer.withMemoryRebound(to: CLongLong.self) { _ = softmax_mpi_minimum_int64($0.baseAddress, count) }
      }
    }

    /// MPI_Allreduce with MPI_MAX, in place.
    public func maximum(_ values: inout [Int64]) {
      let count = Int32(values.count)
      values.withUnsafeMutableBufferPointer { buffer in
        buffer.withMemoryRebound(to: CLongLong.self) { _ = softmax_mpi_maximum_int64($0.baseAddress, count) }
      }
    }
  }
#endif
