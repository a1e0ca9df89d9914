// `v2a launch`: torchrun's job without Python. Starts nproc_per_node copies of a command on this
// node with the environment torchrun gives its workers (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, OMP_NUM_THREADS), supervises them, and ends the job
// when any worker fails: the others get SIGTERM, then SIGKILL after a grace period. Rendezvous is
// c10d's (the workers' TCPStore at MASTER_ADDR:MASTER_PORT, core/distributed.h); the launcher only
// starts and watches processes.
#pragma once
#include <string>
#include <vector>

namespace v2a::dist {

struct LaunchOptions {
    int nproc_per_node = 1;
    int nnodes = 1, node_rank = 0;
    std::string master_addr = "127.0.0.1";
    int master_port = 0;          // 0: a free port on this machine (single node only)
    int threads_per_process = 0;  // OMP_NUM_THREADS for workers; 0: cores / nproc_per_node (>= 1)
    double grace_seconds = 10;    // SIGTERM -> SIGKILL when a peer failed
};

struct LaunchResult {
    int exit_code = 0;      // 0 when every worker succeeded; else the first failure's code (128+signal)
    int failed_rank = -1;   // global rank of the first worker that failed
    std::string message;    // "rank 1 exited with code 3" etc.
};

/// Runs `command` (argv[0] is an executable path) as the node's workers and waits for all of them.
/// Throws a Usage error for inconsistent options.
LaunchResult launch(const std::vector<std::string>& command, const LaunchOptions& options);

/// A TCP port on this machine that was free a moment ago (bind to port 0).
int free_port();

}  // namespace v2a::dist
