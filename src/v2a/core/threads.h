// Thread policy: intra-op threads from --threads / OMP_NUM_THREADS (default: all cores; LibTorch's
// own default on this Debian build is 1), inter-op pool of 1 (we never use at::launch).
#pragma once
#include <cstdint>
#include <functional>

namespace v2a {

/// requested <= 0 means OMP_NUM_THREADS if set, else every core. Returns the number applied.
int configure_threads(int requested);
/// Threads applied by the last configure_threads (or the core count before any call).
int thread_count();

/// Runs fn(i) for i in [0, n) on `workers` threads (each with 1 intra-op torch thread); rethrows
/// the first exception after all workers stop.
void parallel_for(int64_t n, int workers, const std::function<void(int64_t)>& fn);

}  // namespace v2a
