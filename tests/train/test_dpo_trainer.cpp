// The Flow-DPO trainer end to end on a tiny generator: implicit accuracy rises on a tiny pair set,
// the curriculum runs easy pairs first, SyncDPO runs on rule-based negatives, and an interrupted
// and resumed run ends with the same weights as an uninterrupted one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_error.h"
#include "support/temp_dir.h"
#include "support/tiny_pipeline.h"
#include "v2a/core/jsonl.h"
#include "v2a/flow/generator.h"
#include "v2a/io/safetensors.h"
#include "v2a/train/dpo_trainer.h"

namespace v2a::train {
namespace {

struct Fixture {
    test::TinyPipeline tiny;
    test::TempDir& dir = tiny.dir;
    io::ClipDataset* clips = tiny.clips.get();
    std::unique_ptr<pairs::PairSet> pairs;
    int64_t tokens = tiny.tokens, channels = test::TinyPipeline::kChannels;

    Fixture() {
        // Pairs: the winner of clip i is a fixed random pattern, its loser another one.
        std::vector<pairs::PairRecord> records;
        std::vector<torch::Tensor> w, l;
        const std::vector<double> complexity{0.9, 0.8, 0.2, 0.0};
        auto gen = flow::cpu_generator(3);
        for (int i = 0; i < 4; ++i) {
            pairs::PairRecord r;
            r.pair_id = r.clip_id = "clip" + std::to_string(i);
            r.complexity = complexity[size_t(i)];
            records.push_back(r);
            w.push_back(torch::randn({tokens, channels}, gen));
            l.push_back(torch::randn({tokens, channels}, gen));
        }
        pairs = std::make_unique<pairs::PairSet>(records, torch::stack(w), torch::stack(l));
    }

    DpoOptions options(const std::string& run) const {
        DpoOptions o;
        o.init = tiny.generator;
        o.vae_path = tiny.vae;
        o.run_dir = dir / run;
        o.beta = 200;
        o.lr = 2e-3;
        o.warmup = 0;
        o.batch_size = 4;
        o.log_every = 5;
        o.checkpoint_every = 10;
        o.val_every = 0;
        return o;
    }
};

std::vector<nlohmann::json> train_logs(const std::filesystem::path& run) {
    std::vector<nlohmann::json> out;
    for (auto& r : read_jsonl(run / "metrics.jsonl")) {
        if (r.value("kind", "") == "train") out.push_back(r);
    }
    return out;
}

TEST(DpoTrainerTest, ImplicitAccuracyRisesOnATinyPairSet) {
    Fixture f;
    auto o = f.options("dpo");
    o.steps = 40;
    o.curriculum = false;
    auto r = train_dpo(f.pairs.get(), *f.clips, *f.clips, o);
    auto logs = train_logs(o.run_dir);
    ASSERT_EQ(logs.size(), 8u);
    // The first window starts at the reference (acc 0 or 1 only by chance of the draw), the last
    // has learned to prefer the winners.
    EXPECT_GT(logs.back()["implicit_acc"].get<double>(), 0.9);
    EXPECT_GT(logs.back()["reward_margin"].get<double>(), logs.front()["reward_margin"].get<double>());
    EXPECT_LT(logs.back()["dpo_loss"].get<double>(), std::log(2.0));
    EXPECT_TRUE(std::filesystem::exists(r.model_path));
    EXPECT_GT(r.heldout_loss_init, 0);
    for (const char* key : {"model_w_err", "ref_w_err", "model_l_err", "ref_l_err", "chosen_reward", "rejected_reward"}) {
        EXPECT_TRUE(logs.back().contains(key)) << key;
    }
}

TEST(DpoTrainerTest, CurriculumTrainsEasyPairsFirst) {
    Fixture f;
    auto o = f.options("curriculum");
    o.steps = 10;
    o.tau = 0.7;               // stage 1: pairs 0 and 1 (c 0.9, 0.8) -> half of the pairs, half of the steps
    o.batch_size = 2;
    auto logs = (train_dpo(f.pairs.get(), *f.clips, *f.clips, o), train_logs(o.run_dir));
    ASSERT_EQ(logs.size(), 2u);
    EXPECT_DOUBLE_EQ(logs[0]["stage"].get<double>(), 1.0);   // steps 0-4
    EXPECT_DOUBLE_EQ(logs[1]["stage"].get<double>(), 2.0);   // steps 5-9
}

TEST(DpoTrainerTest, SyncDpoTrainsOnRuleBasedNegatives) {
    Fixture f;
    auto o = f.options("syncdpo");
    o.source = DpoPairSource::SyncDpo;
    o.steps = 15;
    o.syncdpo_stages = 3;
    auto r = train_dpo(nullptr, *f.clips, *f.clips, o);
    auto logs = train_logs(o.run_dir);
    ASSERT_EQ(logs.size(), 3u);
    EXPECT_DOUBLE_EQ(logs[0]["stage"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(logs[2]["stage"].get<double>(), 3.0);
    EXPECT_TRUE(std::filesystem::exists(r.model_path));
}

TEST(DpoTrainerTest, InterruptedAndResumedEqualsUninterrupted) {
    Fixture f;
    auto a = f.options("straight");
    a.steps = 20;
    a.tau = 0.5;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, a);
    auto b = f.options("resumed");
    b.steps = 20;
    b.tau = 0.5;
    b.stop_after = 10;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, b);
    b.stop_after = -1;
    b.resume = true;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, b);
    auto wa = io::load_safetensors(a.run_dir / "generator.safetensors").tensors;
    auto wb = io::load_safetensors(b.run_dir / "generator.safetensors").tensors;
    ASSERT_EQ(wa.size(), wb.size());
    for (const auto& [k, t] : wa) EXPECT_TRUE(t.equal(wb.at(k))) << k;
}

TEST(DpoTrainerTest, BadSetupsAreNamedErrors) {
    Fixture f;
    auto o = f.options("bad");
    o.steps = 1;
    test::expect_error([&] { train_dpo(nullptr, *f.clips, *f.clips, o); }, ErrorKind::Usage, "no preference pairs");
    std::vector<pairs::PairRecord> rec(1);
    rec[0].pair_id = rec[0].clip_id = "elsewhere";
    pairs::PairSet stray(rec, torch::zeros({1, f.tokens, f.channels}), torch::zeros({1, f.tokens, f.channels}));
    test::expect_error([&] { train_dpo(&stray, *f.clips, *f.clips, o); }, ErrorKind::Data, "'elsewhere'");
    o.init.clear();
    test::expect_error([&] { train_dpo(f.pairs.get(), *f.clips, *f.clips, o); }, ErrorKind::Usage, "--init");
}

}  // namespace
}  // namespace v2a::train
