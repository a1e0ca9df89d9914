// The Flow-DPO trainer end to end on a tiny generator: implicit accuracy rises on a tiny pair set,
// the curriculum runs easy pairs first, SyncDPO runs on rule-based negatives, and an interrupted
// and resumed run ends with the same weights as an uninterrupted one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "support/expect_error.h"
#include "support/run_logs.h"
#include "support/temp_dir.h"
#include "support/tiny_pipeline.h"
#include "v2a/core/fs.h"
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

using test::train_records;

TEST(DpoTrainerTest, ImplicitAccuracyRisesOnATinyPairSet) {
    Fixture f;
    auto o = f.options("dpo");
    o.steps = 40;
    o.curriculum = false;
    auto r = train_dpo(f.pairs.get(), *f.clips, *f.clips, o);
    auto logs = train_records(o.run_dir);
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
    auto logs = (train_dpo(f.pairs.get(), *f.clips, *f.clips, o), train_records(o.run_dir));
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
    auto logs = train_records(o.run_dir);
    ASSERT_EQ(logs.size(), 3u);
    EXPECT_DOUBLE_EQ(logs[0]["stage"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(logs[2]["stage"].get<double>(), 3.0);
    EXPECT_TRUE(std::filesystem::exists(r.model_path));
    // It learned the preference: the distorted copies are predicted worse than the reference predicts them,
    // relative to the ground truth, and the implicit accuracy is above chance.
    double acc = 0, loser_push = 0;
    for (const auto& log : logs) {
        acc += log["implicit_acc"].get<double>() / double(logs.size());
        loser_push += (log["model_l_err"].get<double>() - log["ref_l_err"].get<double>()) -
                      (log["model_w_err"].get<double>() - log["ref_w_err"].get<double>());
    }
    EXPECT_GT(acc, 0.6);
    EXPECT_GT(loser_push, 0.0);
}

TEST(DpoTrainerTest, SyncDpoCanStartAtTheSubtleBand) {
    Fixture f;
    auto o = f.options("syncdpo_subtle");
    o.source = DpoPairSource::SyncDpo;
    o.steps = 10;
    o.syncdpo_stages = 3;
    o.syncdpo_first_stage = 2;
    train_dpo(nullptr, *f.clips, *f.clips, o);
    for (const auto& log : train_records(o.run_dir)) EXPECT_DOUBLE_EQ(log["stage"].get<double>(), 3.0);
}

// --pref-t-max: only pairs drawn at t <= t_max enter the preference term. With a bound no logit-normal
// t reaches, the term is 0 and (no winners' flow term) nothing moves the policy's reward margin from
// the reference's; with 0.5 about half of the pairs are kept and the policy learns to separate them.
TEST(DpoTrainerTest, PrefTMaxLimitsThePreferenceTermToTheNoisyEnd) {
    Fixture f;
    auto none = f.options("t_none");
    none.steps = 10;
    none.curriculum = false;
    none.pref_t_max = 1e-9;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, none);
    for (const auto& log : train_records(none.run_dir)) {
        EXPECT_DOUBLE_EQ(log["pref_kept"].get<double>(), 0.0);
        EXPECT_DOUBLE_EQ(log["dpo_loss"].get<double>(), 0.0);
    }
    auto init = io::load_safetensors(f.tiny.generator).tensors;
    size_t compared = 0;
    for (const auto& [k, t] : io::load_safetensors(none.run_dir / "generator.safetensors").tensors) {
        if (!init.count(k)) continue;
        EXPECT_TRUE(t.equal(init.at(k))) << k;  // no gradient reached any weight
        ++compared;
    }
    EXPECT_GT(compared, 10u);
    auto half = f.options("t_half");
    half.steps = 40;
    half.curriculum = false;
    half.pref_t_max = 0.5;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, half);
    auto logs = train_records(half.run_dir);
    double kept = 0;
    for (const auto& log : logs) kept += log["pref_kept"].get<double>() / double(logs.size());
    EXPECT_GT(kept, 0.2);
    EXPECT_LT(kept, 0.8);
    EXPECT_GT(logs.back()["implicit_acc"].get<double>(), 0.9);
}

// Runs `a` straight, then a copy killed after `stop_after` updates and resumed: the weights must match.
void expect_resume_equals_straight(const Fixture& f, const DpoOptions& a, int64_t stop_after) {
    train_dpo(f.pairs.get(), *f.clips, *f.clips, a);
    auto b = a;
    b.run_dir = a.run_dir.string() + "_resumed";
    b.stop_after = stop_after;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, b);
    b.stop_after = -1;
    b.resume = true;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, b);
    auto wa = io::load_safetensors(a.run_dir / "generator.safetensors").tensors;
    auto wb = io::load_safetensors(b.run_dir / "generator.safetensors").tensors;
    ASSERT_EQ(wa.size(), wb.size());
    for (const auto& [k, t] : wa) EXPECT_TRUE(t.equal(wb.at(k))) << k;
}

TEST(DpoTrainerTest, InterruptedAndResumedEqualsUninterrupted) {
    Fixture f;
    auto a = f.options("straight");
    a.steps = 20;
    a.tau = 0.5;
    expect_resume_equals_straight(f, a, 10);
}

TEST(DpoTrainerTest, DiagnosticsAreLoggedAtEveryUpdate) {
    Fixture f;
    auto o = f.options("diagnostics");
    o.steps = 4;
    o.log_every = 1;
    o.curriculum = false;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, o);
    auto logs = train_records(o.run_dir);
    ASSERT_EQ(logs.size(), 4u);
    // The first update starts at the reference: margin 0, gradient factor sigma(0) = 1/2.
    EXPECT_NEAR(logs[0]["gradient_factor"].get<double>(), 0.5, 1e-4);
    EXPECT_NEAR(logs[0]["raw_margin"].get<double>(), 0.0, 1e-6);
    EXPECT_DOUBLE_EQ(logs[0]["beta"].get<double>(), 200.0);
    for (const auto& r : logs) {
        for (const char* key : {"gradient_factor", "negative_share", "raw_margin", "beta"}) {
            EXPECT_TRUE(r.contains(key)) << key;
        }
        EXPECT_GT(r["gradient_factor"].get<double>(), 0.0);
        EXPECT_LT(r["gradient_factor"].get<double>(), 1.0);
    }
    EXPECT_GT(logs.back()["raw_margin"].get<double>(), 0.0);  // the policy moved away from the reference
}

TEST(DpoTrainerTest, AutoBetaFollowsTheMarginAndResumesExactly) {
    Fixture f;
    auto a = f.options("auto");
    a.steps = 8;
    a.log_every = 1;
    a.curriculum = false;
    a.auto_beta = true;
    a.auto_beta_options.max_beta = 5000;
    a.auto_beta_options.decay = 0.5;
    train_dpo(f.pairs.get(), *f.clips, *f.clips, a);
    auto logs = train_records(a.run_dir);
    ASSERT_EQ(logs.size(), 8u);
    EXPECT_DOUBLE_EQ(logs[0]["beta"].get<double>(), 5000.0);  // margin 0 at the reference
    EXPECT_LT(logs.back()["beta"].get<double>(), 5000.0);     // margins grew: beta came down toward g*
    // Its state (the margin EMA) survives a kill: the resumed run equals the straight one.
    a.run_dir = f.dir / "auto2";
    expect_resume_equals_straight(f, a, 4);
}

// A plain mixed 30-update run and the same run with one lever set, both trained from the reference.
struct PlainAndLever {
    DpoOptions plain, lever;
    DpoResult plain_result, lever_result;
};
PlainAndLever plain_and_lever(const Fixture& f, const std::string& name, const std::function<void(DpoOptions&)>& set) {
    PlainAndLever r;
    r.plain = f.options("plain");
    r.plain.steps = 30;
    r.plain.log_every = 30;
    r.plain.curriculum = false;
    r.lever = r.plain;
    r.lever.run_dir = f.dir / name;
    set(r.lever);
    r.plain_result = train_dpo(f.pairs.get(), *f.clips, *f.clips, r.plain);
    r.lever_result = train_dpo(f.pairs.get(), *f.clips, *f.clips, r.lever);
    return r;
}

TEST(DpoTrainerTest, SdpoKeepsTheWinnersErrorLowerThanPlainDpo) {
    Fixture f;
    const auto r = plain_and_lever(f, "sdpo", [](DpoOptions& o) { o.sdpo_mu = 0.9; });
    const auto p = train_records(r.plain.run_dir).back(), s = train_records(r.lever.run_dir).back();
    ASSERT_TRUE(s.contains("sdpo_scale"));
    EXPECT_GE(s["sdpo_scale"].get<double>(), 0.0);
    EXPECT_LE(s["sdpo_scale"].get<double>(), 1.0);
    // The winners' error relative to the reference (averaged over the run's window) rises less.
    const double plain_w = p["model_w_err"].get<double>() - p["ref_w_err"].get<double>();
    const double sdpo_w = s["model_w_err"].get<double>() - s["ref_w_err"].get<double>();
    EXPECT_LT(sdpo_w, plain_w);
}

TEST(DpoTrainerTest, GroundTruthAnchorKeepsTheHeldOutLossOnTheData) {
    // The fixture's winners are random patterns, not the clips' audio: DPO alone walks away from the
    // ground truth; the anchor (a flow loss on each batch clip's real audio) holds the held-out loss.
    Fixture f;
    const auto r = plain_and_lever(f, "anchored", [](DpoOptions& o) { o.gt_anchor = 1.0; });
    EXPECT_DOUBLE_EQ(r.plain_result.heldout_loss_init, r.lever_result.heldout_loss_init);
    EXPECT_LT(r.lever_result.heldout_loss, r.plain_result.heldout_loss);
    const auto log = train_records(r.lever.run_dir).back();
    ASSERT_TRUE(log.contains("gt_anchor_loss"));
    EXPECT_GT(log["gt_anchor_loss"].get<double>(), 0.0);
    EXPECT_FALSE(train_records(r.plain.run_dir).back().contains("gt_anchor_loss"));
}

TEST(DpoTrainerTest, MaxDriftStopsAndExportsTheLastModelWithinTheBound) {
    Fixture f;
    auto o = f.options("drift");
    o.steps = 40;
    o.lr = 5e-3;
    o.val_every = 2;
    o.max_drift = 0.0;  // any rise of the held-out flow loss ends the run
    o.curriculum = false;
    auto r = train_dpo(f.pairs.get(), *f.clips, *f.clips, o);
    EXPECT_TRUE(r.stopped_early);
    EXPECT_LE(r.heldout_loss, r.heldout_loss_init * (1.0 + 1e-9));
    const auto result = nlohmann::json::parse(fs::read_text(o.run_dir / "result.json"));
    EXPECT_LT(result["steps_trained"].get<int64_t>(), 40);
    EXPECT_EQ(result["exported_step"].get<int64_t>(), r.exported_step);
    EXPECT_TRUE(result["stopped_early"].get<bool>());
    if (r.exported_step == 0) {  // nothing passed: the reference itself is exported
        auto ref = io::load_safetensors(f.tiny.generator).tensors;
        auto got = io::load_safetensors(r.model_path).tensors;
        for (const auto& [k, t] : ref) EXPECT_TRUE(t.equal(got.at(k))) << k;
    }
    // A resume of a stopped run does not train on.
    o.resume = true;
    auto again = train_dpo(f.pairs.get(), *f.clips, *f.clips, o);
    EXPECT_EQ(nlohmann::json::parse(fs::read_text(o.run_dir / "result.json"))["steps_trained"],
              result["steps_trained"]);
    EXPECT_TRUE(again.stopped_early);
}

TEST(DpoTrainerTest, HeldOutPairsPickTheExportedModel) {
    Fixture f;
    auto o = f.options("heldout");
    o.steps = 12;
    o.val_every = 3;
    o.heldout_pairs = 1;
    o.curriculum = false;
    auto r = train_dpo(f.pairs.get(), *f.clips, *f.clips, o);
    EXPECT_GE(r.heldout_accuracy, 0.0);
    EXPECT_LE(r.heldout_accuracy, 1.0);
    int vals = 0;
    for (auto& rec : read_jsonl(o.run_dir / "metrics.jsonl")) {
        if (rec.value("kind", "") != "val") continue;
        ++vals;
        EXPECT_TRUE(rec.contains("heldout_pair_acc"));
        EXPECT_TRUE(rec.contains("selected_step"));
    }
    EXPECT_EQ(vals, 4);
    EXPECT_GT(r.exported_step, 0);  // the first validation always becomes the best so far
    EXPECT_EQ(int64_t(r.exported_step) % 3, 0);
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
    auto held = o;
    held.heldout_pairs = 4;  // every pair held out: nothing to train on
    test::expect_error([&] { train_dpo(f.pairs.get(), *f.clips, *f.clips, held); }, ErrorKind::Usage, "--heldout-pairs");
    held.heldout_pairs = 0;
    held.patience = 2;
    test::expect_error([&] { train_dpo(f.pairs.get(), *f.clips, *f.clips, held); }, ErrorKind::Usage, "--patience");
    held.patience = 0;
    held.label_smoothing = 0.7;
    test::expect_error([&] { train_dpo(f.pairs.get(), *f.clips, *f.clips, held); }, ErrorKind::Usage, "label smoothing");
    held.label_smoothing = 0.0;
    held.gt_anchor = -1.0;
    test::expect_error([&] { train_dpo(f.pairs.get(), *f.clips, *f.clips, held); }, ErrorKind::Usage, "anchor weight");
    held.gt_anchor = 0.0;
    held.pref_t_max = 0.0;
    test::expect_error([&] { train_dpo(f.pairs.get(), *f.clips, *f.clips, held); }, ErrorKind::Usage, "--pref-t-max");
    held.pref_t_max = 1.0;
    held.syncdpo_first_stage = 3;  // of 3 stages
    test::expect_error([&] { train_dpo(f.pairs.get(), *f.clips, *f.clips, held); }, ErrorKind::Usage,
                       "--syncdpo-first-stage");
    o.init.clear();
    test::expect_error([&] { train_dpo(f.pairs.get(), *f.clips, *f.clips, o); }, ErrorKind::Usage, "--init");
}

}  // namespace
}  // namespace v2a::train
