// Runs N ranks of a data-parallel job as threads of the test process, each joined to a real c10d
// Gloo group over loopback (its own dist::World): the collectives and rendezvous are the ones a
// multi-process job uses, without forking a process that already runs LibTorch's thread pools.
#pragma once
#include <exception>
#include <functional>
#include <thread>
#include <vector>

#include "v2a/core/distributed.h"
#include "v2a/core/launch.h"

namespace v2a::test {

/// Calls fn(rank) on `n` threads inside a World of size n; rethrows the first exception.
inline void run_ranks(int n, const std::function<void(int)>& fn,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(60000)) {
    const int port = dist::free_port();
    std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r) {
        threads.emplace_back([&, r] {
            try {
                dist::WorldInfo info;
                info.rank = r;
                info.world_size = n;
                info.local_rank = r;
                info.local_world_size = n;
                info.master_port = port;
                dist::World world(info, timeout);
                fn(r);
            } catch (...) {
                errors[size_t(r)] = std::current_exception();
            }
        });
    }
    for (auto& t : threads) t.join();
    for (auto& e : errors) {
        if (e) std::rethrow_exception(e);
    }
}

}  // namespace v2a::test
