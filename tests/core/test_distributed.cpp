// v2a::dist over real c10d Gloo groups on loopback (ranks as threads, support/ranks.h) and the
// `v2a launch` supervisor on real processes: torchrun's environment is read as torchrun sets it,
// collectives average and sum, batches shard evenly or are refused, a dead peer ends the job with
// an error instead of a hang, and the launcher stops the survivors when one worker fails.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <signal.h>

#include <cstdlib>
#include <optional>
#include <thread>

#include "support/expect_error.h"
#include "support/ranks.h"
#include "support/temp_dir.h"
#include "v2a/core/fs.h"
#include "v2a/core/distributed.h"
#include "v2a/core/launch.h"

namespace v2a {
namespace {

// Sets environment variables for one test and restores them after.
struct ScopedEnv {
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;
    void set(const std::string& k, const std::optional<std::string>& v) {
        const char* old = std::getenv(k.c_str());
        saved.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
        if (v) ::setenv(k.c_str(), v->c_str(), 1);
        else ::unsetenv(k.c_str());
    }
    ~ScopedEnv() {
        for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
            if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
            else ::unsetenv(it->first.c_str());
        }
    }
};

TEST(DistributedEnvTest, ReadsTorchrunVariables) {
    ScopedEnv env;
    env.set("RANK", "3");
    env.set("WORLD_SIZE", "4");
    env.set("LOCAL_RANK", "1");
    env.set("LOCAL_WORLD_SIZE", "2");
    env.set("MASTER_ADDR", "10.1.2.3");
    env.set("MASTER_PORT", "29511");
    env.set("TORCHELASTIC_USE_AGENT_STORE", "True");
    env.set("TORCHELASTIC_RESTART_COUNT", "2");
    const auto w = dist::world_from_env();
    EXPECT_EQ(w.rank, 3);
    EXPECT_EQ(w.world_size, 4);
    EXPECT_EQ(w.local_rank, 1);
    EXPECT_EQ(w.local_world_size, 2);
    EXPECT_EQ(w.master_addr, "10.1.2.3");
    EXPECT_EQ(w.master_port, 29511);
    EXPECT_TRUE(w.agent_store);
    EXPECT_EQ(w.restart_count, 2);
}

TEST(DistributedEnvTest, NoVariablesIsOneProcess) {
    ScopedEnv env;
    env.set("RANK", std::nullopt);
    env.set("WORLD_SIZE", std::nullopt);
    const auto w = dist::world_from_env();
    EXPECT_EQ(w.world_size, 1);
    EXPECT_EQ(w.rank, 0);
    EXPECT_FALSE(dist::active());
    EXPECT_TRUE(dist::is_writer());
}

TEST(DistributedEnvTest, BadVariablesAreNamed) {
    {
        ScopedEnv env;
        env.set("RANK", "2");
        env.set("WORLD_SIZE", "2");
        env.set("MASTER_ADDR", "127.0.0.1");
        env.set("MASTER_PORT", "29500");
        test::expect_error([] { dist::world_from_env(); }, ErrorKind::Usage, "RANK");
    }
    {
        ScopedEnv env;
        env.set("RANK", "0");
        env.set("WORLD_SIZE", "two");
        test::expect_error([] { dist::world_from_env(); }, ErrorKind::Usage, "WORLD_SIZE");
    }
    {
        ScopedEnv env;
        env.set("RANK", "0");
        env.set("WORLD_SIZE", std::nullopt);
        test::expect_error([] { dist::world_from_env(); }, ErrorKind::Usage, "together");
    }
    {
        ScopedEnv env;
        env.set("RANK", "0");
        env.set("WORLD_SIZE", "2");
        env.set("MASTER_ADDR", std::nullopt);
        env.set("MASTER_PORT", std::nullopt);
        test::expect_error([] { dist::world_from_env(); }, ErrorKind::Usage, "MASTER_ADDR");
    }
    {
        ScopedEnv env;
        env.set("RANK", "0");
        env.set("WORLD_SIZE", "2");
        env.set("MASTER_ADDR", "127.0.0.1");
        env.set("MASTER_PORT", "70000");
        test::expect_error([] { dist::world_from_env(); }, ErrorKind::Usage, "MASTER_PORT");
    }
}

TEST(DistributedTest, CollectivesAverageAndSumOverRanks) {
    std::vector<double> sums(3), means(3), scalar_means(3);
    std::vector<torch::Tensor> reduced(3);
    test::run_ranks(3, [&](int r) {
        EXPECT_EQ(dist::rank(), r);
        EXPECT_EQ(dist::world_size(), 3);
        EXPECT_EQ(dist::is_writer(), r == 0);
        // Two tensors of different shapes and an undefined one, reduced as one buffer.
        std::vector<torch::Tensor> t{torch::full({2, 2}, double(r + 1)), torch::Tensor(), torch::full({3}, 10.0 * r)};
        dist::all_reduce_mean(t);
        reduced[size_t(r)] = torch::cat({t[0].reshape({-1}), t[2]});
        sums[size_t(r)] = dist::all_reduce_sum(double(r));
        means[size_t(r)] = dist::all_reduce_mean(std::map<std::string, double>{{"a", double(r)}, {"b", 1.0}}).at("a");
        scalar_means[size_t(r)] = dist::traffic().collectives;
    });
    for (int r = 0; r < 3; ++r) {
        // mean of 1, 2, 3 = 2; mean of 0, 10, 20 = 10
        EXPECT_TRUE(torch::allclose(reduced[size_t(r)], torch::tensor({2.0f, 2.0f, 2.0f, 2.0f, 10.0f, 10.0f, 10.0f})))
            << reduced[size_t(r)];
        EXPECT_DOUBLE_EQ(sums[size_t(r)], 3.0);
        EXPECT_DOUBLE_EQ(means[size_t(r)], 1.0);
        EXPECT_EQ(scalar_means[size_t(r)], 3);  // three collectives were counted
    }
}

TEST(DistributedTest, BroadcastCopiesTheWritersTensors) {
    std::vector<torch::Tensor> got(2);
    test::run_ranks(2, [&](int r) {
        std::vector<torch::Tensor> t{torch::full({4}, double(r + 5)), torch::full({2, 3}, double(-r)).t()};
        dist::broadcast_from_writer(t);
        got[size_t(r)] = torch::cat({t[0], t[1].reshape({-1})});
    });
    EXPECT_TRUE(torch::equal(got[0], got[1]));
    EXPECT_TRUE(torch::equal(got[1].narrow(0, 0, 4), torch::full({4}, 5.0f)));
    EXPECT_TRUE(torch::equal(got[1].narrow(0, 4, 6), torch::zeros({6})));
}

TEST(DistributedTest, ShardsAreEqualSlicesOrRefused) {
    std::vector<std::vector<int64_t>> rows(2);
    test::run_ranks(2, [&](int r) {
        rows[size_t(r)] = dist::shard_rows(std::vector<int64_t>{10, 11, 12, 13, 14, 15}, "--batch");
        auto t = dist::shard_rows(torch::arange(8).view({4, 2}));
        EXPECT_EQ(t.size(0), 2);
        EXPECT_EQ(t[0][0].item<int64_t>(), r == 0 ? 0 : 4);
        test::expect_error([] { dist::shard_of(5, "--batch"); }, ErrorKind::Usage, "--batch of 5 rows");
    });
    EXPECT_EQ(rows[0], (std::vector<int64_t>{10, 11, 12}));
    EXPECT_EQ(rows[1], (std::vector<int64_t>{13, 14, 15}));
    // One process: the whole batch.
    EXPECT_EQ(dist::shard_rows(std::vector<int64_t>{1, 2, 3}).size(), 3u);
}

TEST(DistributedTest, RankSeedsDifferByRankAndStep) {
    std::vector<uint64_t> seeds(2);
    test::run_ranks(2, [&](int r) { seeds[size_t(r)] = dist::rank_seed(7, 3); });
    EXPECT_NE(seeds[0], seeds[1]);
    EXPECT_NE(dist::rank_seed(7, 3), dist::rank_seed(7, 4));
    EXPECT_EQ(dist::rank_seed(7, 3), dist::rank_seed(7, 3));
}

TEST(DistributedTest, ADeadPeerIsAnErrorNotAHang) {
    // Rank 1 leaves without taking part; rank 0's all-reduce must fail (peer gone or timeout).
    bool rank0_failed = false;
    std::string message;
    test::run_ranks(
        2,
        [&](int r) {
            if (r == 1) return;
            try {
                dist::all_reduce_sum(1.0);
            } catch (const Error& e) {
                rank0_failed = true;
                message = e.what();
            }
        },
        std::chrono::milliseconds(3000));
    EXPECT_TRUE(rank0_failed);
    EXPECT_NE(message.find("distributed all-reduce failed on rank 0/2"), std::string::npos) << message;
}

TEST(LaunchTest, WorkersGetTorchrunsEnvironment) {
    // Every worker checks its own variables; any mismatch is a non-zero exit.
    const std::string check =
        "test \"$WORLD_SIZE\" = 2 && test \"$LOCAL_WORLD_SIZE\" = 2 && test \"$LOCAL_RANK\" = \"$RANK\" && "
        "test \"$MASTER_ADDR\" = 127.0.0.1 && test -n \"$MASTER_PORT\" && test \"$OMP_NUM_THREADS\" = 3";
    dist::LaunchOptions o;
    o.nproc_per_node = 2;
    o.threads_per_process = 3;
    const auto r = dist::launch({"/bin/sh", "-c", check}, o);
    EXPECT_EQ(r.exit_code, 0) << r.message;
    EXPECT_EQ(r.failed_rank, -1);
}

TEST(LaunchTest, AFailedWorkerStopsTheOthersAndWhatTheyStarted) {
    // Rank 1 fails once rank 0 has started a child that would sleep for an hour: the launcher must end
    // rank 0 and its child (the worker's process group) and report rank 1.
    test::TempDir dir;
    const auto pid_file = dir / "child.pid";
    const std::string script = "if [ \"$RANK\" = 1 ]; then while [ ! -s '" + pid_file.string() +
                               "' ]; do sleep 0.05; done; exit 3; fi; sleep 3600 & echo $! > '" +
                               pid_file.string() + "'; wait";
    dist::LaunchOptions o;
    o.nproc_per_node = 2;
    o.grace_seconds = 1;
    const auto r = dist::launch({"/bin/sh", "-c", script}, o);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.failed_rank, 1);
    EXPECT_NE(r.message.find("rank 1 exited with code 3"), std::string::npos) << r.message;
    const pid_t child = pid_t(std::stol(fs::read_text(pid_file)));
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {  // SIGTERM is delivered asynchronously
        gone = ::kill(child, 0) != 0;
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_TRUE(gone) << "the worker's child " << child << " outlived the job";
    if (!gone) ::kill(child, SIGKILL);
}

TEST(LaunchTest, BadOptionsAreRefused) {
    dist::LaunchOptions o;
    o.nproc_per_node = 0;
    test::expect_error([&] { dist::launch({"/bin/true"}, o); }, ErrorKind::Usage, "--nproc-per-node");
    o.nproc_per_node = 1;
    o.nnodes = 2;
    o.node_rank = 2;
    test::expect_error([&] { dist::launch({"/bin/true"}, o); }, ErrorKind::Usage, "--node-rank");
    o.node_rank = 1;
    o.master_port = 0;
    test::expect_error([&] { dist::launch({"/bin/true"}, o); }, ErrorKind::Usage, "--master-port");
    test::expect_error([&] { dist::launch({}, dist::LaunchOptions{}); }, ErrorKind::Usage, "no command");
}

TEST(LaunchTest, AMissingProgramIsExitCode127) {
    dist::LaunchOptions o;
    const auto r = dist::launch({"/nonexistent/v2a"}, o);
    EXPECT_EQ(r.exit_code, 127);
    EXPECT_EQ(r.failed_rank, 0);
}

}  // namespace
}  // namespace v2a
