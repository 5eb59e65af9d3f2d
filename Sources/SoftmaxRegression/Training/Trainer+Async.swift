import Dispatch
import Synchronization

extension Trainer {
  /// Trains on `dataset` without blocking the caller's task, and honours task cancellation.
  ///
  /// The work runs on a Dispatch queue (it is CPU-bound and uses its own worker threads),
  /// so no thread of Swift's cooperative pool is blocked. Each epoch (from epoch 0) is
  /// yielded to `events` if given, which is finished when training ends. When the calling
  /// task is cancelled, training stops after the current epoch and this throws
  /// `CancellationError`.
  ///
  ///     let (events, continuation) = AsyncStream.makeStream(of: TrainingReport.Epoch.self)
  ///     let training = Task { try await Trainer().fit(data, events: continuation) }
  ///     for await epoch in events { print(epoch.epoch, epoch.objective) }
  ///     let result = try await training.value
  ///
  /// - Throws: `TrainingError` as the synchronous `fit`, or `CancellationError`.
  public func fit(
    _ dataset: Dataset, events: AsyncStream<TrainingReport.Epoch>.Continuation? = nil
  ) async throws -> Result {
    let cancellation = CancellationFlag()
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
          defer { events?.finish() }
          if cancellation.isSet {
            continuation.resume(throwing: CancellationError())
            return
          }
          do {
            let result = try self.fit(dataset) { epoch in
              events?.yield(epoch)
              return !cancellation.isSet
            }
            if cancellation.isSet {
              continuation.resume(throwing: CancellationError())
            } else {
              continuation.resume(returning: result)
            }
          } catch {
            continuation.resume(throwing: error)
          }
        }
      }
    } onCancel: {
      cancellation.set()
    }
  }
}

/// A flag set from a cancellation handler and read by the training thread.
final class CancellationFlag: Sendable {
  private let value = Atomic<Bool>(false)
  var isSet: Bool { value.load(ordering: .acquiring) }
  func set() { value.store(true, ordering: .releasing) }
}
