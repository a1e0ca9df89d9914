// The DDPO baseline end to end on a tiny generator with randomly initialised (untrained) judges and
// AudioScore: it samples, is rewarded, logs the PPO diagnostics, and resumes exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_error.h"
#include "support/temp_dir.h"
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

constexpr double kSeconds = 4.0;

struct DdpoFixture {
    test::TempDir dir;
    std::unique_ptr<io::ClipDataset> clips;
    DdpoOptions base;

    DdpoFixture() {
        torch::manual_seed(0);
        flow::V2AGenerator g(flow::GeneratorConfig::preset("tiny", kSeconds, 32));
        g->net->set_latent_stats(torch::zeros({8}), torch::ones({8}));
        flow::save_generator(dir / "generator.safetensors", g);
        auto vo = audio::VaeOptions::preset("tiny");
        vo.latent_dim = 8;
        audio::MelVae v(vo);
        v->set_latent_stats(torch::zeros({8}), torch::ones({8}));
        io::save_checkpoint(dir / "vae.safetensors", *v, vo.to_json(), {{"kind", "mel_vae"}});

        std::vector<io::ClipItem> items;
        for (int i = 0; i < 4; ++i) {
            io::ClipItem it;
            it.id = "clip" + std::to_string(i);
            it.caption = i % 2 ? "a low tone" : "a high tone";
            it.label = i % 2 ? "low" : "high";
            it.frames = torch::full({int64_t(kSeconds * 25), 32, 32, 3}, 60 * i, torch::kUInt8);
            auto t = torch::arange(int64_t(kSeconds * 16000), torch::kFloat) / 16000.0;
            it.audio = 0.3 * torch::sin(2 * M_PI * (i % 2 ? 220.0 : 880.0) * t);
            items.push_back(std::move(it));
        }
        io::ClipDatasetOptions o;
        o.duration = kSeconds;
        o.frame_size = 32;
        clips = std::make_unique<io::ClipDataset>(std::move(items), o);
        // Untrained judges and AudioScore: the reward is arbitrary but deterministic, which is all
        // the mechanics need.
        std::filesystem::create_directories(dir / "judges");
        for (const auto& kind : judge::judge_kinds()) {
            auto m = judge::new_judge(kind, *clips);
            judge::save_judge(dir / "judges" / (kind + ".safetensors"), *m);
        }
        score::AudioScore as;
        score::save_audioscore(dir / "audioscore.safetensors", as);

        base.init = dir / "generator.safetensors";
        base.vae_path = dir / "vae.safetensors";
        base.judges_dir = dir / "judges";
        base.audioscore_path = dir / "audioscore.safetensors";
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
    for (const auto& rec : read_jsonl(o.run_dir / "metrics.jsonl")) {
        if (rec.value("kind", "") != "train") continue;
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
    auto before = io::load_safetensors(o.init).tensors, after = io::load_safetensors(r.model_path).tensors;
    double moved = 0;
    for (const auto& [k, t] : before) {
        if (k.rfind("net.", 0) == 0) moved += (t - after.at(k)).abs().sum().item<double>();
    }
    EXPECT_GT(moved, 0.0);
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

}  // namespace
}  // namespace v2a::train
