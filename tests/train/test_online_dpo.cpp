// Online Flow-DPO rounds on a tiny generator: each round samples its pairs from the previous round's
// export and trains against it as the reference; the drift baseline stays round 0's; a re-run resumes
// without resampling or retraining; bad setups are named errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_error.h"
#include "support/tiny_pipeline.h"
#include "v2a/core/fs.h"
#include "v2a/io/safetensors.h"
#include "v2a/train/online_dpo.h"

namespace v2a::train {
namespace {

nlohmann::json read_json(const std::filesystem::path& p) { return nlohmann::json::parse(fs::read_text(p)); }

struct OnlineSetup {
    test::TinyPipeline tiny{false};
    DpoOptions dpo;
    OnlineDpoOptions online;
    OnlineSetup() {
        dpo.init = tiny.generator;
        dpo.vae_path = tiny.vae;
        dpo.run_dir = tiny.dir / "online";
        dpo.beta = 200;
        dpo.lr = 5e-3;
        dpo.warmup = 0;
        dpo.batch_size = 4;
        dpo.steps = 6;
        dpo.log_every = 3;
        dpo.checkpoint_every = 3;
        dpo.val_every = 0;
        dpo.curriculum = false;
        online.rounds = 2;
        online.pairs.ranking = pairs::Ranking::GtVsSample;
        online.pairs.samples_per_video = 1;
        online.pairs.videos_per_chunk = 2;
        online.pairs.generate.sampler.steps = 2;
    }
};

TEST(OnlineDpoTest, EachRoundSamplesFromAndIsReferencedToThePreviousRoundsExport) {
    OnlineSetup s;
    const auto r = train_dpo_online(*s.tiny.clips, *s.tiny.clips, s.dpo, s.online);
    const auto run = s.dpo.run_dir;
    const auto summary = read_json(run / "result.json");
    ASSERT_EQ(summary["rounds_run"], 2);
    const auto& r0 = summary["rounds"][0];
    const auto& r1 = summary["rounds"][1];
    EXPECT_EQ(r0["init"], s.tiny.generator.string());
    EXPECT_EQ(r1["init"], (run / "round_0" / "dpo" / "generator.safetensors").string());
    EXPECT_EQ(r0["pairs"], 4);  // 4 videos x K = 1, ground truth wins
    EXPECT_EQ(r1["pairs"], 4);
    // Round 1's frozen reference is round 0's export: its held-out loss is the one round 0 ended with.
    EXPECT_NEAR(r1["heldout_loss_init"].get<double>(), r0["heldout_loss"].get<double>(), 1e-6);
    EXPECT_NE(r0["heldout_loss_init"].get<double>(), r0["heldout_loss"].get<double>());  // round 0 trained
    // Drift is measured against the base for every round, not against each round's reference.
    EXPECT_DOUBLE_EQ(summary["heldout_loss_init"].get<double>(), r0["heldout_loss_init"].get<double>());
    EXPECT_DOUBLE_EQ(read_json(run / "round_1" / "dpo" / "result.json")["drift_baseline"].get<double>(),
                     r0["heldout_loss_init"].get<double>());
    EXPECT_DOUBLE_EQ(r.heldout_loss_init, r0["heldout_loss_init"].get<double>());
    // The updates are split over the rounds, and round 1's pairs were sampled by round 0's policy.
    EXPECT_EQ(read_json(run / "round_0" / "dpo" / "result.json")["steps_trained"], 3);
    EXPECT_EQ(read_json(run / "round_1" / "dpo" / "result.json")["steps_trained"], 3);
    auto set0 = pairs::PairSet::load(run / "round_0" / "pairs"), set1 = pairs::PairSet::load(run / "round_1" / "pairs");
    EXPECT_TRUE(torch::allclose(set0.winners({0, 1, 2, 3}), set1.winners({0, 1, 2, 3})));  // the same ground truth
    EXPECT_FALSE(torch::allclose(set0.losers({0, 1, 2, 3}), set1.losers({0, 1, 2, 3}), 1e-3, 1e-3));
    // The run's model is the last round's export.
    auto last = io::load_safetensors(run / "round_1" / "dpo" / "generator.safetensors").tensors;
    auto got = io::load_safetensors(r.model_path).tensors;
    for (const auto& [k, t] : last) EXPECT_TRUE(t.equal(got.at(k))) << k;

    // A re-run resumes: nothing is resampled or retrained, the same model comes out.
    const auto stamp = std::filesystem::last_write_time(run / "round_1" / "pairs" / ".done");
    const auto again = train_dpo_online(*s.tiny.clips, *s.tiny.clips, s.dpo, s.online);
    EXPECT_EQ(std::filesystem::last_write_time(run / "round_1" / "pairs" / ".done"), stamp);
    EXPECT_EQ(read_json(run / "round_1" / "dpo" / "result.json")["steps_trained"], 3);
    auto regot = io::load_safetensors(again.model_path).tensors;
    for (const auto& [k, t] : got) EXPECT_TRUE(t.equal(regot.at(k))) << k;
}

TEST(OnlineDpoTest, BadSetupsAreNamedErrors) {
    OnlineSetup s;
    auto o = s.online;
    o.rounds = 0;
    test::expect_error([&] { train_dpo_online(*s.tiny.clips, *s.tiny.clips, s.dpo, o); }, ErrorKind::Usage,
                       "--online-rounds must be >= 1");
    o.rounds = 7;  // more rounds than updates
    test::expect_error([&] { train_dpo_online(*s.tiny.clips, *s.tiny.clips, s.dpo, o); }, ErrorKind::Usage,
                       "cannot be split into 7 rounds");
    o.rounds = 2;
    o.pairs.ranking = pairs::Ranking::AudioScore;
    test::expect_error([&] { train_dpo_online(*s.tiny.clips, *s.tiny.clips, s.dpo, o); }, ErrorKind::Usage,
                       "gt-vs-sample or oracle");
    auto d = s.dpo;
    d.source = DpoPairSource::SyncDpo;
    test::expect_error([&] { train_dpo_online(*s.tiny.clips, *s.tiny.clips, d, s.online); }, ErrorKind::Usage,
                       "not with --syncdpo");
}

}  // namespace
}  // namespace v2a::train
