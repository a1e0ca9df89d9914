// Data-parallel training over c10d Gloo on loopback (ranks as threads, support/ranks.h): the same
// global batch and seed on 2 processes give the weights of 1 process (SFT, SyncDPO with auto-beta;
// the VAE on real processes through `v2a launch`), a run checkpointed on 2 processes resumes on 1 and ends where the straight run ends, and
// only rank 0 writes files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include "support/ranks.h"
#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "support/tiny_pipeline.h"
#include "v2a/core/fs.h"
#include "v2a/core/jsonl.h"
#include <nlohmann/json.hpp>
#include "v2a/flow/generator.h"
#include "v2a/io/safetensors.h"
#include "v2a/pairs/pair_store.h"
#include "v2a/train/dpo_trainer.h"
#include "v2a/train/sft_trainer.h"

namespace v2a::train {
namespace {

SftOptions sft_options(const test::TinyPipeline& tiny, const std::string& run) {
    SftOptions o;
    o.init = tiny.generator;
    o.vae_path = tiny.vae;
    o.steps = 6;
    o.batch_size = 4;
    o.lr = 2e-3;
    o.warmup = 2;
    o.ema_decay = 0.9;
    o.checkpoint_every = 3;
    o.val_every = 3;
    o.log_every = 1;
    o.run_dir = tiny.dir / run;
    // The sync encoder's onset loss is off: its gradients are so small that fp32 summation order alone
    // (1 vs 2 intra-op threads in ONE process) moves the result by 0.6% of the training step, which
    // would hide what this test measures (measured: 1.4e-4 without it).
    o.sync_onset_weight = 0;
    return o;
}

// ||a - b|| over every tensor of two weight files, divided by ||a - init||: how far apart two runs
// ended relative to how far training moved. Not an elementwise bound: Adam divides each gradient by
// its own magnitude, so a parameter whose gradient is ~0 (adaLN-zero layers at the start) moves by
// +-lr on the sign of fp32 summation noise whichever way the batch is split.
double relative_distance(const std::filesystem::path& a, const std::filesystem::path& b,
                         const std::filesystem::path& init) {
    const auto ta = io::load_safetensors(a).tensors, tb = io::load_safetensors(b).tensors,
               t0 = io::load_safetensors(init).tensors;
    EXPECT_EQ(ta.size(), tb.size());
    double apart = 0, moved = 0;
    for (const auto& [name, x] : ta) {
        const auto xd = x.to(torch::kDouble);
        apart += (xd - tb.at(name).to(torch::kDouble)).square().sum().item<double>();
        if (t0.count(name)) moved += (xd - t0.at(name).to(torch::kDouble)).square().sum().item<double>();
    }
    EXPECT_GT(moved, 0.0) << "training did not move the weights: the comparison would prove nothing";
    return std::sqrt(apart / std::max(moved, 1e-30));
}

TEST(DataParallelTest, SftOnTwoProcessesEqualsOneProcess) {
    test::TinyPipeline tiny;
    auto one = sft_options(tiny, "one");
    const auto r1 = train_generator(*tiny.clips, *tiny.clips, one);
    auto two = sft_options(tiny, "two");
    test::run_ranks(2, [&](int) { train_generator(*tiny.clips, *tiny.clips, two); });
    const double d = relative_distance(r1.model_path, two.run_dir / "generator.safetensors", tiny.generator);
    std::printf("SFT: 2 processes vs 1: relative distance %.3g\n", d);
    EXPECT_LT(d, 1e-3);
    // The communication is recorded: at least the gradients (4 bytes per trained parameter) every update.
    const auto speed = nlohmann::json::parse(fs::read_text(two.run_dir / "throughput.json"));
    EXPECT_EQ(speed["world_size"].get<int>(), 2);
    int64_t trained = 0;
    for (const auto& p : flow::load_generator(tiny.generator)->parameters()) trained += p.numel();
    EXPECT_GE(speed["bytes_per_update"].get<double>(), 4.0 * double(trained) * 0.5);
    EXPECT_GT(speed["updates_per_second"].get<double>(), 0.0);
    // The measure can fail: another seed's run is far away.
    auto other = sft_options(tiny, "other_seed");
    other.seed = 1;
    const auto r3 = train_generator(*tiny.clips, *tiny.clips, other);
    EXPECT_GT(relative_distance(r1.model_path, r3.model_path, tiny.generator), 0.1);
    // The logged global loss is the one process's loss.
    const auto l1 = read_jsonl(one.run_dir / "metrics.jsonl"), l2 = read_jsonl(two.run_dir / "metrics.jsonl");
    ASSERT_EQ(l1.size(), l2.size());
    for (size_t i = 0; i < l1.size(); ++i) {
        EXPECT_NEAR(l1[i]["loss"].get<double>(), l2[i]["loss"].get<double>(), 1e-4 * std::abs(l1[i]["loss"].get<double>()))
            << "record " << i;
    }
}

TEST(DataParallelTest, CheckpointOnTwoProcessesResumesOnOne) {
    test::TinyPipeline tiny;
    auto straight = sft_options(tiny, "straight");
    const auto r1 = train_generator(*tiny.clips, *tiny.clips, straight);
    auto o = sft_options(tiny, "moved");
    o.stop_after = 3;  // "killed" right after the step-3 checkpoint, written by rank 0
    test::run_ranks(2, [&](int) { train_generator(*tiny.clips, *tiny.clips, o); });
    const auto state = nlohmann::json::parse(fs::read_text(o.run_dir / "checkpoint" / "state.json"));
    EXPECT_EQ(state["world_size"].get<int>(), 2);
    EXPECT_EQ(state["step"].get<int>(), 3);
    o.stop_after = -1;
    o.resume = true;
    const auto r2 = train_generator(*tiny.clips, *tiny.clips, o);
    const double d = relative_distance(r1.model_path, r2.model_path, tiny.generator);
    std::printf("SFT: resumed on 1 after 2 vs straight: relative distance %.3g\n", d);
    EXPECT_LT(d, 1e-3);
}

TEST(DataParallelTest, SyncDpoOnTwoProcessesEqualsOneProcess) {
    test::TinyPipeline tiny;
    auto options = [&](const std::string& run) {
        DpoOptions o;
        o.init = tiny.generator;
        o.vae_path = tiny.vae;
        o.run_dir = tiny.dir / run;
        o.source = DpoPairSource::SyncDpo;
        o.syncdpo_stages = 2;
        o.beta = 200;
        o.auto_beta = true;  // its EMA reads the global batch's margin
        o.sft_weight = 1.0;
        o.sdpo_mu = 0.9;
        o.lr = 2e-3;
        o.warmup = 0;
        o.batch_size = 4;
        o.steps = 6;
        o.log_every = 2;
        o.checkpoint_every = 3;
        o.val_every = 3;
        o.max_drift = 10.0;  // selection on: best.safetensors written by rank 0, read by every rank
        return o;
    };
    auto one = options("one");
    const auto r1 = train_dpo(nullptr, *tiny.clips, *tiny.clips, one);
    auto two = options("two");
    test::run_ranks(2, [&](int) { train_dpo(nullptr, *tiny.clips, *tiny.clips, two); });
    const double d = relative_distance(r1.model_path, two.run_dir / "generator.safetensors", tiny.generator);
    std::printf("SyncDPO: 2 processes vs 1: relative distance %.3g\n", d);
    EXPECT_LT(d, 1e-3);
    const auto l1 = read_jsonl(one.run_dir / "metrics.jsonl"), l2 = read_jsonl(two.run_dir / "metrics.jsonl");
    ASSERT_EQ(l1.size(), l2.size());
    for (size_t i = 0; i < l1.size(); ++i) {
        if (!l1[i].contains("beta")) continue;
        EXPECT_NEAR(l1[i]["beta"].get<double>(), l2[i]["beta"].get<double>(), 1e-3 * l1[i]["beta"].get<double>());
        EXPECT_NEAR(l1[i]["implicit_acc"].get<double>(), l2[i]["implicit_acc"].get<double>(), 1e-9);
    }
}

// The VAE is checked on real processes (LaunchCliTest below): it builds a new model from the global
// torch seed, which rank THREADS of one process would share (and race on); processes do not.

TEST(DataParallelTest, ABatchThatDoesNotDivideIsRefused) {
    test::TinyPipeline tiny;
    auto o = sft_options(tiny, "odd");
    o.batch_size = 3;
    EXPECT_THROW(test::run_ranks(2, [&](int) { train_generator(*tiny.clips, *tiny.clips, o); }), v2a::Error);
}

}  // namespace
}  // namespace v2a::train

// The CLI end to end on real processes: `v2a launch` runs a verb on 2 processes (torchrun's
// environment, c10d rendezvous over loopback) and writes what one process writes.
namespace v2a::train {
namespace {

int run_cli(const std::string& args, const std::filesystem::path& log) {
    const std::string cmd = std::string(V2A_CLI) + " --log-level warn " + args + " > '" + log.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

TEST(LaunchCliTest, TrainVaeAndGenerateOnTwoProcessesWriteWhatOneWrites) {
    test::TempDir dir;
    const auto data = dir / "data";
    const std::string manifest = (data / "manifest.csv").string();
    ASSERT_EQ(run_cli("synth --out '" + data.string() + "' --train 8 --val 4 --test 4 --size 32 --workers 1",
                      dir / "synth.log"),
              0)
        << fs::read_text(dir / "synth.log");
    const std::string common =
        "train-vae --data '" + manifest + "' --preset tiny --steps 4 --batch 4 --frame-size 32 --out ";
    ASSERT_EQ(run_cli(common + "'" + (dir / "one").string() + "'", dir / "one.log"), 0) << fs::read_text(dir / "one.log");
    ASSERT_EQ(run_cli("launch --nproc-per-node 2 -- " + common + "'" + (dir / "two").string() + "'", dir / "two.log"), 0)
        << fs::read_text(dir / "two.log");
    const auto a = io::load_safetensors(dir / "one" / "vae.safetensors").tensors;
    const auto b = io::load_safetensors(dir / "two" / "vae.safetensors").tensors;
    ASSERT_EQ(a.size(), b.size());
    double apart = 0, norm = 0;
    for (const auto& [name, x] : a) {
        apart += (x.to(torch::kDouble) - b.at(name).to(torch::kDouble)).square().sum().item<double>();
        norm += x.to(torch::kDouble).square().sum().item<double>();
    }
    EXPECT_LT(std::sqrt(apart / norm), 1e-4);
    // One metrics log, written by rank 0 only (a second writer would duplicate every record).
    const auto one = read_jsonl(dir / "one" / "metrics.jsonl"), two = read_jsonl(dir / "two" / "metrics.jsonl");
    EXPECT_EQ(one.size(), two.size());

    // Generation split over 2 processes (1 thread each) writes the files 1 process (1 thread) writes,
    // byte for byte: a batch's noise depends only on where it starts, not on who makes it.
    const std::string vae = (dir / "one" / "vae.safetensors").string();
    ASSERT_EQ(run_cli("train --data '" + manifest + "' --vae '" + vae + "' --preset tiny --steps 2 --batch 4 "
                      "--frame-size 32 --warmup 0 --out '" + (dir / "g").string() + "'", dir / "g.log"), 0)
        << fs::read_text(dir / "g.log");
    const std::string gen = "generate --model '" + (dir / "g" / "generator.safetensors").string() + "' --vae '" + vae +
                            "' --manifest '" + manifest + "' --split test --steps 2 --batch 1 --out-dir ";
    ASSERT_EQ(run_cli("--threads 1 " + gen + "'" + (dir / "gen1").string() + "'", dir / "gen1.log"), 0)
        << fs::read_text(dir / "gen1.log");
    ASSERT_EQ(run_cli("launch --nproc-per-node 2 --threads-per-process 1 -- " + gen + "'" + (dir / "gen2").string() + "'",
                      dir / "gen2.log"), 0)
        << fs::read_text(dir / "gen2.log");
    int compared = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / "gen1")) {
        EXPECT_EQ(fs::read_text(e.path()), fs::read_text(dir / "gen2" / e.path().filename())) << e.path();
        ++compared;
    }
    EXPECT_EQ(compared, 4);
    // --reconstruct: the ground truth through VAE and vocoder (the ceiling of any generator), no noise:
    // the same files whatever the seed, and not what generation writes.
    for (const char* seed : {"1", "2"}) {
        ASSERT_EQ(run_cli("--threads 1 " + gen + "'" + (dir / ("recon" + std::string(seed))).string() +
                              "' --reconstruct --seed " + seed,
                          dir / "recon.log"), 0)
            << fs::read_text(dir / "recon.log");
    }
    for (const auto& e : std::filesystem::directory_iterator(dir / "gen1")) {
        const auto name = e.path().filename();
        EXPECT_EQ(fs::read_text(dir / "recon1" / name), fs::read_text(dir / "recon2" / name)) << name;
        EXPECT_NE(fs::read_text(dir / "recon1" / name), fs::read_text(e.path())) << name;
    }
    EXPECT_NE(run_cli(gen + "'" + (dir / "recon3").string() + "' --reconstruct --video-source shuffled", dir / "r3.log"), 0);
    EXPECT_NE(fs::read_text(dir / "r3.log").find("--reconstruct"), std::string::npos) << fs::read_text(dir / "r3.log");

    // The judges train data-parallel too (each rank its slice, augmentation of its own): one file, one summary.
    ASSERT_EQ(run_cli("launch --nproc-per-node 2 --threads-per-process 1 -- train-judges --data '" + manifest +
                          "' --only cnn --steps 4 --batch 4 --out '" + (dir / "judges").string() + "'",
                      dir / "judges.log"), 0)
        << fs::read_text(dir / "judges.log");
    EXPECT_TRUE(std::filesystem::exists(dir / "judges" / "cnn.safetensors"));
    EXPECT_TRUE(nlohmann::json::parse(fs::read_text(dir / "judges" / "judges.json"))["judges"].contains("cnn"));

    // Pairs split over 2 processes (shard r/2 each) are the pairs of 1 process: same clips, same latents.
    const std::string pairs = "pairs --data '" + manifest + "' --model '" + (dir / "g" / "generator.safetensors").string() +
                              "' --vae '" + vae + "' --ranking gt-vs-sample -K 1 --steps 2 --videos-per-chunk 1 --out ";
    ASSERT_EQ(run_cli("--threads 1 " + pairs + "'" + (dir / "pairs1").string() + "'", dir / "pairs1.log"), 0)
        << fs::read_text(dir / "pairs1.log");
    ASSERT_EQ(run_cli("launch --nproc-per-node 2 --threads-per-process 1 -- " + pairs + "'" + (dir / "pairs2").string() + "'",
                      dir / "pairs2.log"), 0)
        << fs::read_text(dir / "pairs2.log");
    const auto p1 = pairs::PairSet::load(dir / "pairs1"), p2 = pairs::PairSet::load(dir / "pairs2");
    ASSERT_EQ(p1.size(), 8);
    ASSERT_EQ(p2.size(), p1.size());
    std::map<std::string, int64_t> row2;
    for (int64_t i = 0; i < p2.size(); ++i) row2[p2[i].clip_id] = i;
    for (int64_t i = 0; i < p1.size(); ++i) {
        ASSERT_TRUE(row2.count(p1[i].clip_id)) << p1[i].clip_id;
        const int64_t j = row2[p1[i].clip_id];
        EXPECT_TRUE(torch::equal(p1.winners({i}), p2.winners({j}))) << p1[i].clip_id;
        EXPECT_TRUE(torch::equal(p1.losers({i}), p2.losers({j}))) << p1[i].clip_id;
    }
}

TEST(LaunchCliTest, VerbsThatDoNotShardAreRefusedAndFailuresNameTheRank) {
    test::TempDir dir;
    // A verb that would run N times over the same files is refused under a world of 2.
    const std::string env = "RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 ";
    const int status = std::system((env + std::string(V2A_CLI) + " synth --out '" + (dir / "s").string() + "' > '" +
                                    (dir / "refused.log").string() + "' 2>&1")
                                       .c_str());
    EXPECT_EQ(WEXITSTATUS(status), 2);
    EXPECT_NE(fs::read_text(dir / "refused.log").find("'synth' does not run data-parallel"), std::string::npos)
        << fs::read_text(dir / "refused.log");
    // Both workers fail on a missing manifest: the launcher exits non-zero and names a rank.
    EXPECT_NE(run_cli("launch --nproc-per-node 2 -- train-vae --data /nonexistent/m.csv --out '" + (dir / "x").string() + "'",
                      dir / "failed.log"),
              0);
    EXPECT_NE(fs::read_text(dir / "failed.log").find("launch: rank "), std::string::npos) << fs::read_text(dir / "failed.log");
}

}  // namespace
}  // namespace v2a::train
