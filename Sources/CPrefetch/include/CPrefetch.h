// Cache prefetch hints for the Swift kernels: Swift has no prefetch intrinsic, and a
// static inline C function imported through this module inlines into the Swift caller.
#ifndef SOFTMAX_CPREFETCH_H
#define SOFTMAX_CPREFETCH_H

/// Asks the CPU to bring the cache line holding `address` into all cache levels for a
/// later read (x86-64 `prefetcht0`, arm64 `prfm pldl1keep`). Never faults, whatever the
/// address; returns at once.
static inline void softmax_prefetch_for_reading(const void *address) {
  __builtin_prefetch(address, 0, 3);
}

#endif
