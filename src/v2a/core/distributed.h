// Data parallelism over c10d (LibTorch's torch.distributed engine): a process group of N ranks
// (Gloo on CPU), joined through a c10d TCPStore at MASTER_ADDR:MASTER_PORT exactly as torchrun's
// `env://` rendezvous does, so `torchrun --no-python --nproc-per-node N build/v2a <verb>` and
// `v2a launch` start the same job.
//
// How the trainers use it (docs/DISTRIBUTED.md): every rank draws the randomness of the whole
// global batch from the same seeded generator and runs the network on its own slice of rows
// (`shard_rows`); gradients are averaged over ranks after backward. With equal slices the mean of
// the rank means is the global mean, so N processes train the weights one process would. Only the
// writer (rank 0) writes checkpoints, logs and models.
//
// One world per thread (thread_local), set by `World` objects: the CLI makes one per process from
// the environment; tests run ranks as threads of one process, each with its own World.
#pragma once
#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace v2a::dist {

/// Where this process sits in the job, as torchrun describes it.
struct WorldInfo {
    int rank = 0, world_size = 1;
    int local_rank = 0, local_world_size = 1;
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    /// torchrun's elastic agent hosts the store (TORCHELASTIC_USE_AGENT_STORE=True): rank 0 then
    /// connects as a client under the agent's key prefix instead of serving.
    bool agent_store = false;
    int restart_count = 0;  // TORCHELASTIC_RESTART_COUNT: the agent's key prefix /worker/attempt_<n>
    /// The device Gloo binds: the address other ranks reach this one at (default: master_addr for a
    /// single machine, V2A_DIST_HOST / the host name on many).
    std::string bind_host;
};

/// Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and torchrun's
/// TORCHELASTIC_* variables). Absent RANK/WORLD_SIZE = a single process. Malformed or inconsistent
/// values throw a Usage error naming the variable.
WorldInfo world_from_env();

/// Seconds a collective may wait for a peer before the job fails (V2A_DIST_TIMEOUT, default 600).
std::chrono::milliseconds collective_timeout();

/// A joined process group. Constructing it blocks until every rank has joined (or the timeout);
/// it becomes this thread's current world until destroyed. world_size 1 needs no store or peers.
class World {
public:
    explicit World(const WorldInfo& info, std::chrono::milliseconds timeout = collective_timeout());
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    const WorldInfo& info() const { return info_; }

    struct Impl;
    Impl& impl() { return *impl_; }

private:
    WorldInfo info_;
    std::unique_ptr<Impl> impl_;
    World* previous_ = nullptr;
};

/// This thread's world (a single process when none was made).
int rank();
int world_size();
bool active();        // world_size() > 1
bool is_writer();     // rank 0: the one process that writes files
std::string describe();  // "rank 1/2" for messages, "" for a single process

/// The slice of a global batch of `global` rows this rank trains: [begin, begin + count). Every
/// rank gets the same count; a batch that does not divide by the world size is a Usage error.
struct Shard {
    int64_t begin = 0, count = 0;
};
Shard shard_of(int64_t global, const std::string& what);
/// tensor.narrow(0, shard.begin, shard.count) for this rank (the whole tensor in a single process).
torch::Tensor shard_rows(const torch::Tensor& global_batch);
template <class T>
std::vector<T> shard_rows(const std::vector<T>& global_batch, const std::string& what = "batch") {
    const Shard s = shard_of(int64_t(global_batch.size()), what);
    return std::vector<T>(global_batch.begin() + s.begin, global_batch.begin() + s.begin + s.count);
}

/// A seed of this rank's own for step `step` (SplitMix64 of seed, step and rank): for trainers whose
/// ranks draw their own randomness (DDPO rollouts, judge augmentation) resumably.
uint64_t rank_seed(uint64_t seed, int64_t step);

/// Averages tensors in place over the ranks (one flattened buffer: one collective per call).
/// Undefined tensors are skipped. No-op in a single process.
void all_reduce_mean(std::vector<torch::Tensor>& tensors);
/// Sums doubles over the ranks (e.g. a validation total and count). No-op in a single process.
std::vector<double> all_reduce_sum(std::vector<double> values);
double all_reduce_sum(double value);
/// Averages named scalars over the ranks (every rank must pass the same keys).
std::map<std::string, double> all_reduce_mean(std::map<std::string, double> values);
/// Copies rank 0's tensors to every rank in place (initial weights).
void broadcast_from_writer(std::vector<torch::Tensor>& tensors);
void barrier();
/// Bytes and collectives issued by this thread's world since it was made (communication cost).
struct Traffic {
    int64_t collectives = 0, bytes = 0;
    double seconds = 0;
};
Traffic traffic();

}  // namespace v2a::dist
