#include "v2a/core/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

namespace v2a {
namespace {
std::atomic<int> g_threads{int(std::max(1u, std::thread::hardware_concurrency()))};

// Debian's libopenblas0-pthread runs its own pool of one thread per core next to LibTorch's OpenMP
// pool; both busy-wait, so on 2 cores `--threads 2` trained 40% slower than with BLAS single-threaded
// (docs/DECISIONS.md D9). LibTorch parallelises around the GEMMs itself, so BLAS gets one thread.
// Looked up at run time: with another BLAS behind libblas.so.3 the symbol is simply absent.
void pin_blas_to_one_thread() {
    using SetThreads = void (*)(int);
    for (const char* name : {"openblas_set_num_threads", "goto_set_num_threads"}) {
        if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, name))) {
            fn(1);
            return;
        }
    }
}
}

int configure_threads(int requested) {
    int n = requested;
    if (n <= 0) {
        const char* env = std::getenv("OMP_NUM_THREADS");
        n = env != nullptr ? std::atoi(env) : 0;
    }
    if (n <= 0) n = int(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(n);
    // ATen initialises each thread's OpenMP count lazily, on its first parallel op, from a process-wide
    // value that any later at::set_num_threads overwrites -- parallel_for's workers set 1. Without this
    // call, a run that loaded clips with workers before its first tensor op trained on ONE thread with
    // --threads 2 (stop 11: 0.22 instead of 0.54 updates/s). get_num_threads does the lazy init now.
    at::get_num_threads();
    pin_blas_to_one_thread();
    static std::once_flag interop_once;
    std::call_once(interop_once, [] {
        try {
            at::set_num_interop_threads(1);
        } catch (...) {
            // Already started by earlier inter-op work: harmless, we do not use at::launch.
        }
    });
    g_threads = n;
    return n;
}

int thread_count() { return g_threads.load(); }

void parallel_for(int64_t n, int workers, const std::function<void(int64_t)>& fn) {
    workers = int(std::max<int64_t>(1, std::min<int64_t>(workers, n)));
    std::atomic<int64_t> next{0};
    std::exception_ptr first_error;
    std::mutex error_mutex;
    auto work = [&] {
        if (workers > 1) at::set_num_threads(1);
        for (;;) {
            const int64_t i = next++;
            if (i >= n) return;
            {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (first_error) return;
            }
            try {
                fn(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!first_error) first_error = std::current_exception();
                return;
            }
        }
    };
    if (workers == 1) {
        work();
    } else {
        const int caller_threads = at::get_num_threads();  // also this thread's lazy init, before workers exist
        std::vector<std::thread> pool;
        for (int w = 0; w < workers; ++w) pool.emplace_back(work);
        for (auto& t : pool) t.join();
        // The workers' at::set_num_threads(1) also set ATen's process-wide count (new threads, NNPACK's
        // pool): put back the caller's.
        at::set_num_threads(caller_threads);
    }
    if (first_error) std::rethrow_exception(first_error);
}

}  // namespace v2a
