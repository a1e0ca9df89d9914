// The DDPO baseline end to end on a tiny generator with randomly initialised (untrained) judges and
// AudioScore: it samples, is rewarded, logs the PPO diagnostics, and resumes exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_error.h"
#include "support/ranks.h"
#include "support/run_logs.h"
#include "support/temp_dir.h"
#include "support/tiny_pipeline.h"
#include "v2a/audio/vae.h"
#include <nlohmann/json.hpp>

#include "v2a/core/jsonl.h"
#include "v2a/flow/generator.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/safetensors.h"
#include "v2a/judge/judges.h"
#include "v2a/judge/networks.h"
#include "v2a/judge/training.h"
#include "v2a/score/audio_score.h"
#include "v2a/train/ddpo_trainer.h"

namespace v2a::train {
namespace {

struct DdpoFixture {
    test::TinyPipeline tiny{true};
    test::TempDir& dir = tiny.dir;
    io::ClipDataset* clips = tiny.clips.get();
    DdpoOptions base;

    DdpoFixture() {
        base.init = tiny.generator;
        base.vae_path = tiny.vae;
        base.judges_dir = tiny.judges;
        base.audioscore_path = tiny.audioscore;
        base.steps = 4;
        base.videos_per_step = 2;
        base.samples_per_video = 2;
        base.sde_steps = 3;
        base.lr = 1e-3;
        base.warmup = 0;
        base.checkpoint_every = 2;
        base.val_every = 0;
    }
};

TEST(DdpoTrainerTest, SamplesIsRewardedAndLogsThePpoTerms) {
    DdpoFixture f;
    auto o = f.base;
    o.run_dir = f.dir / "ddpo";
    o.kl_weight = 0.01;
    o.steps = 2;
    auto r = train_ddpo(*f.clips, *f.clips, o);
    EXPECT_TRUE(std::filesystem::exists(r.model_path));
    int n = 0;
    for (const auto& rec : test::train_records(o.run_dir)) {
        ++n;
        const double reward = rec["reward_mean"].get<double>();
        EXPECT_GE(reward, 0.0);
        EXPECT_LE(reward, 1.0);
        EXPECT_GE(rec["clipfrac"].get<double>(), 0.0);
        EXPECT_GE(rec["approx_kl"].get<double>(), 0.0);
        EXPECT_GE(rec["kl_loss"].get<double>(), 0.0);
    }
    EXPECT_EQ(n, 2);
    // The weights moved (the policy gradient is not zero).
    EXPECT_GT(test::weights_moved(o.init, r.model_path, "net."), 0.0);
}

TEST(DdpoTrainerTest, InterruptedAndResumedEqualsUninterrupted) {
    DdpoFixture f;
    auto a = f.base;
    a.run_dir = f.dir / "straight";
    train_ddpo(*f.clips, *f.clips, a);
    auto b = f.base;
    b.run_dir = f.dir / "resumed";
    b.stop_after = 2;
    train_ddpo(*f.clips, *f.clips, b);
    b.stop_after = -1;
    b.resume = true;
    train_ddpo(*f.clips, *f.clips, b);
    auto wa = io::load_safetensors(a.run_dir / "generator.safetensors").tensors;
    auto wb = io::load_safetensors(b.run_dir / "generator.safetensors").tensors;
    for (const auto& [k, t] : wa) EXPECT_TRUE(t.equal(wb.at(k))) << k;
}

TEST(DdpoTrainerTest, BadOptionsAreUsageErrors) {
    DdpoFixture f;
    auto o = f.base;
    o.run_dir = f.dir / "bad";
    o.samples_per_video = 1;
    test::expect_error([&] { train_ddpo(*f.clips, *f.clips, o); }, ErrorKind::Usage, "2 samples per video");
    o = f.base;
    o.noise_level = 0;
    test::expect_error([&] { train_ddpo(*f.clips, *f.clips, o); }, ErrorKind::Usage, "noise level");
    o = f.base;
    o.audioscore_path.clear();
    test::expect_error([&] { train_ddpo(*f.clips, *f.clips, o); }, ErrorKind::Usage, "--audioscore");
}

// Data parallel (docs/DISTRIBUTED.md): 2 ranks (threads in real Gloo groups) each roll out one of the
// step's 2 videos with randomness of their own; rank 0 writes one model, the weights moved, and the
// logged reward is the mean over both ranks' rollouts (a probability).
TEST(DdpoTrainerTest, RunsDataParallelOnTwoProcesses) {
    DdpoFixture f;
    auto o = f.base;
    o.run_dir = f.dir / "ddpo_dp";
    o.steps = 2;
    o.log_every = 1;
    test::run_ranks(2, [&](int) { train_ddpo(*f.clips, *f.clips, o); });
    EXPECT_GT(test::weights_moved(f.tiny.generator, o.run_dir / "generator.safetensors"), 0.0);
    int n = 0;
    for (const auto& rec : test::train_records(o.run_dir)) {
        ++n;
        EXPECT_GE(rec["reward_mean"].get<double>(), 0.0);
        EXPECT_LE(rec["reward_mean"].get<double>(), 1.0);
    }
    EXPECT_EQ(n, 2) << "one record per update, written once";
}

}  // namespace
}  // namespace v2a::train
