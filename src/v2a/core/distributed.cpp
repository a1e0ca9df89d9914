// c10d process groups (Gloo) behind v2a::dist; see distributed.h.
#define USE_C10D_GLOO 1
#include "v2a/core/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <limits>

#include "v2a/core/error.h"
#include "v2a/core/mix64.h"

namespace v2a::dist {

namespace {

thread_local World* g_current = nullptr;

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
}

int env_int(const char* name, int fallback, int lo, int hi) {
    const char* v = env(name);
    if (v == nullptr) return fallback;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    V2A_CHECK(end != v && *end == '\0' && x >= lo && x <= hi, Usage, "environment variable ", name, "='", v,
              "' is not an integer in [", lo, ", ", hi, "]");
    return int(x);
}

bool is_loopback(const std::string& host) {
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

WorldInfo world_from_env() {
    WorldInfo w;
    const bool has_rank = env("RANK") != nullptr, has_size = env("WORLD_SIZE") != nullptr;
    V2A_CHECK(has_rank == has_size, Usage, "distributed: RANK and WORLD_SIZE must be set together (torchrun sets both)");
    if (!has_rank) return w;
    w.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 16);
    w.rank = env_int("RANK", 0, 0, w.world_size - 1);
    w.local_world_size = env_int("LOCAL_WORLD_SIZE", w.world_size, 1, w.world_size);
    w.local_rank = env_int("LOCAL_RANK", w.rank, 0, w.local_world_size - 1);
    if (w.world_size > 1) {
        V2A_CHECK(env("MASTER_ADDR") != nullptr && env("MASTER_PORT") != nullptr, Usage,
                  "distributed: WORLD_SIZE=", w.world_size, " needs MASTER_ADDR and MASTER_PORT");
    }
    if (const char* a = env("MASTER_ADDR")) w.master_addr = a;
    w.master_port = env_int("MASTER_PORT", w.master_port, 1, 65535);
    const char* agent = env("TORCHELASTIC_USE_AGENT_STORE");
    w.agent_store = agent != nullptr && (std::string(agent) == "True" || std::string(agent) == "1");
    w.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0, 0, std::numeric_limits<int>::max());
    if (const char* h = env("V2A_DIST_HOST")) w.bind_host = h;
    return w;
}

std::chrono::milliseconds collective_timeout() {
    return std::chrono::milliseconds(int64_t(env_int("V2A_DIST_TIMEOUT", 600, 1, 7 * 24 * 3600)) * 1000);
}

struct World::Impl {
    c10::intrusive_ptr<c10d::TCPStore> tcp;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
    Traffic traffic;
};

World::World(const WorldInfo& info, std::chrono::milliseconds timeout) : info_(info), impl_(std::make_unique<Impl>()) {
    V2A_CHECK(info.world_size >= 1 && info.rank >= 0 && info.rank < info.world_size, Usage, "distributed: rank ",
              info.rank, " is outside a world of ", info.world_size);
    if (info.world_size > 1) {
        c10d::TCPStoreOptions so;
        so.port = uint16_t(info.master_port);
        so.isServer = info.rank == 0 && !info.agent_store;
        so.numWorkers = size_t(info.world_size);
        so.waitWorkers = false;  // the process group's rendezvous waits (with the timeout) instead
        so.timeout = timeout;
        so.multiTenant = true;
        try {
            impl_->tcp = c10::make_intrusive<c10d::TCPStore>(info.master_addr, so);
            c10::intrusive_ptr<c10d::Store> store = impl_->tcp;
            if (info.agent_store) {
                store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(info.restart_count),
                                                               store);
            }
            store = c10::make_intrusive<c10d::PrefixStore>("v2a", store);
            auto options = c10d::ProcessGroupGloo::Options::create(timeout);
            std::string host = info.bind_host;
            if (host.empty() && is_loopback(info.master_addr)) host = "127.0.0.1";
            if (const char* ifname = env("GLOO_SOCKET_IFNAME"); ifname != nullptr && info.bind_host.empty()) {
                options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
            } else if (!host.empty()) {
                options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
            } else {
                options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            }
            options->threads = 1;
            impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, info.rank, info.world_size, options);
        } catch (const c10::Error& e) {
            fail(ErrorKind::IO, "distributed: rank ", info.rank, "/", info.world_size, " could not join the group at ",
                 info.master_addr, ":", info.master_port, " (", e.what_without_backtrace(), ")");
        }
    }
    previous_ = g_current;
    g_current = this;
}

World::~World() {
    if (g_current == this) g_current = previous_;
}

int rank() { return g_current ? g_current->info().rank : 0; }
int world_size() { return g_current ? g_current->info().world_size : 1; }
bool active() { return world_size() > 1; }
bool is_writer() { return rank() == 0; }
std::string describe() {
    return active() ? "rank " + std::to_string(rank()) + "/" + std::to_string(world_size()) : std::string();
}

Shard shard_of(int64_t global, const std::string& what) {
    const int64_t n = world_size();
    V2A_CHECK(global % n == 0, Usage, what, " of ", global, " rows does not divide over ", n,
              " processes: make it a multiple of the world size");
    return {rank() * (global / n), global / n};
}

torch::Tensor shard_rows(const torch::Tensor& global_batch) {
    if (!active() || !global_batch.defined()) return global_batch;
    const Shard s = shard_of(global_batch.size(0), "a batch");
    return global_batch.narrow(0, s.begin, s.count);
}

uint64_t rank_seed(uint64_t seed, int64_t step) {
    return mix64(mix64(mix64(seed) ^ uint64_t(step)) ^ uint64_t(rank()));
}

namespace {

// Runs one collective on this thread's group, turning a peer's death or a timeout into a v2a error.
template <class Fn>
void collective(const char* what, int64_t bytes, Fn&& fn) {
    World::Impl& impl = g_current->impl();
    const auto start = std::chrono::steady_clock::now();
    try {
        fn(*impl.group);
    } catch (const std::exception& e) {
        fail(ErrorKind::IO, "distributed ", what, " failed on ", describe(),
             " (a peer died, hung past V2A_DIST_TIMEOUT or left the job): ", e.what());
    }
    impl.traffic.collectives += 1;
    impl.traffic.bytes += bytes;
    impl.traffic.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void all_reduce_mean(std::vector<torch::Tensor>& tensors) {
    if (!active()) return;
    std::vector<torch::Tensor> parts;
    for (const auto& t : tensors) {
        if (t.defined()) parts.push_back(t.detach().to(torch::kFloat).reshape({-1}));
    }
    if (parts.empty()) return;
    std::vector<torch::Tensor> flat{torch::cat(parts)};
    collective("all-reduce", flat[0].numel() * int64_t(sizeof(float)),
               [&](c10d::ProcessGroup& g) { g.allreduce(flat)->wait(); });
    flat[0].div_(double(world_size()));
    int64_t offset = 0;
    for (auto& t : tensors) {
        if (!t.defined()) continue;
        const int64_t n = t.numel();
        torch::NoGradGuard no_grad;
        t.copy_(flat[0].narrow(0, offset, n).view(t.sizes()).to(t.scalar_type()));
        offset += n;
    }
}

std::vector<double> all_reduce_sum(std::vector<double> values) {
    if (!active() || values.empty()) return values;
    std::vector<torch::Tensor> t{torch::tensor(values, torch::kDouble)};
    collective("all-reduce", t[0].numel() * int64_t(sizeof(double)),
               [&](c10d::ProcessGroup& g) { g.allreduce(t)->wait(); });
    for (size_t i = 0; i < values.size(); ++i) values[i] = t[0][int64_t(i)].item<double>();
    return values;
}

double all_reduce_sum(double value) { return all_reduce_sum(std::vector<double>{value})[0]; }

std::map<std::string, double> all_reduce_mean(std::map<std::string, double> values) {
    if (!active() || values.empty()) return values;
    std::vector<double> flat;
    for (const auto& [k, v] : values) flat.push_back(v);
    flat = all_reduce_sum(flat);
    size_t i = 0;
    for (auto& [k, v] : values) v = flat[i++] / double(world_size());
    return values;
}

void broadcast_from_writer(std::vector<torch::Tensor>& tensors) {
    if (!active()) return;
    torch::NoGradGuard no_grad;
    for (auto& t : tensors) {
        if (!t.defined()) continue;
        std::vector<torch::Tensor> one{t.is_contiguous() ? t.detach() : t.detach().contiguous()};
        collective("broadcast", t.numel() * int64_t(t.element_size()),
                   [&](c10d::ProcessGroup& g) { g.broadcast(one)->wait(); });
        if (!t.is_contiguous()) t.copy_(one[0]);
    }
}

void barrier() {
    if (!active()) return;
    // An all-reduce of one number: Gloo's barrier takes no timeout of its own in 1.13.
    all_reduce_sum(0.0);
}

Traffic traffic() { return g_current ? g_current->impl().traffic : Traffic{}; }

}  // namespace v2a::dist
