// AudioScore: the network and its standardisation against hand-computed values, save/load, learning a
// separable toy labelling, the evaluation measures (ECE, confusion, permutation importance) on
// hand-made inputs, and the five raw scores against tiny randomly initialised judges.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "score/fixtures.h"
#include "support/expect_error.h"
#include "support/temp_dir.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/media.h"
#include "v2a/judge/judges.h"
#include "v2a/judge/training.h"
#include "v2a/report/plot.h"
#include "v2a/score/audio_score.h"
#include "v2a/score/audioscore_fit.h"
#include "v2a/score/sample_set.h"

namespace v2a::score {
namespace {

using v2a::test::expect_error;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Toy raw scores [n, 5] with NaN in the CLAP and PESQ columns for some rows (as in real data), and a
// labelling decided by `rule` from the columns.
std::pair<torch::Tensor, torch::Tensor> toy(int64_t n, uint64_t seed, int (*rule)(const double*)) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0.0, 1.0);
    auto raw = torch::zeros({n, kNumScores}, torch::kDouble);
    std::vector<int64_t> t;
    for (int64_t i = 0; i < n; ++i) {
        double v[kNumScores];
        for (int c = 0; c < kNumScores; ++c) v[c] = g(rng);
        v[0] = 0.3 + 0.2 * v[0];           // IB-like cosine
        v[2] = std::abs(0.4 * v[2]);       // DeSync-like seconds
        if (i % 4 == 0) v[1] = kNaN;       // no caption
        if (i % 3 != 0) v[4] = kNaN;       // not speech
        for (int c = 0; c < kNumScores; ++c) raw[i][c] = v[c];
        t.push_back(rule(v));
    }
    return {raw, torch::tensor(t, torch::kLong)};
}

int sync_rule(const double* v) { return v[2] < 0.15 ? 0 : v[2] < 0.45 ? 1 : 2; }
int ib_and_sync_rule(const double* v) {
    const double s = (v[0] - 0.3) / 0.2 - (v[2] - 0.32) / 0.24;
    return s > 0.6 ? 0 : s > -0.6 ? 1 : 2;
}

TEST(AudioScoreModelTest, ForwardShapesAndSoftmaxRowsSumToOne) {
    torch::manual_seed(0);
    AudioScore m(AudioScoreOptions{8, {}});
    auto [raw, t] = toy(7, 1, sync_rule);
    EXPECT_EQ(m->forward(m->standardise(raw)).sizes(), (std::vector<int64_t>{7, 3}));
    const auto p = m->probabilities(raw);
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{7, 3}));
    EXPECT_EQ(p.scalar_type(), torch::kDouble);
    EXPECT_TRUE(torch::allclose(p.sum(1), torch::ones({7}, torch::kDouble), 1e-12, 1e-12));
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
    EXPECT_EQ(m->class_marginal.numel(), 0);
    expect_error([&] { m->forward(torch::zeros({2, 4})); }, ErrorKind::Usage, "[N, 5]");
    expect_error([&] { m->standardise(torch::zeros({2, 6})); }, ErrorKind::Usage, "[N, 5]");
    expect_error([] { AudioScore(AudioScoreOptions{0, {}}); }, ErrorKind::Config, "hidden");
}

TEST(AudioScoreModelTest, StandardisationTurnsNanIntoTheNeutralZero) {
    AudioScore m;
    m->score_mean.copy_(torch::tensor({0.2, 0.1, 0.5, 1.0, 3.0}, torch::kDouble));
    m->score_std.copy_(torch::tensor({0.1, 0.05, 0.25, 2.0, 0.5}, torch::kDouble));
    auto raw = torch::tensor({{0.3, kNaN, 0.0, 2.0, kNaN}, {0.2, 0.2, 1.0, kNaN, 4.0}}, torch::kDouble);
    const auto z = m->standardise(raw);
    const auto want = torch::tensor({{1.0, 0.0, -2.0, 0.5, 0.0}, {0.0, 2.0, 2.0, 0.0, 2.0}}, torch::kDouble);
    EXPECT_TRUE(torch::allclose(z, want, 1e-12, 1e-12)) << z;
    // a NaN input gives the same output as the training mean itself
    auto at_mean = raw.clone();
    at_mean[0][1] = 0.1;
    at_mean[0][4] = 3.0;
    EXPECT_TRUE(torch::allclose(m->probabilities(raw)[0], m->probabilities(at_mean)[0]));
    expect_error([&] { m->standardise(torch::full({1, 5}, INFINITY, torch::kDouble)); }, ErrorKind::Data, "Inf");
}

TEST(AudioScoreModelTest, StatisticsIgnoreNan) {
    auto raw = torch::tensor({{1.0, kNaN, 5.0, 0.0, kNaN}, {kNaN, kNaN, 5.0, 2.0, kNaN}, {3.0, kNaN, 5.0, 4.0, kNaN}},
                             torch::kDouble);
    auto [mean, std] = score_statistics(raw);
    EXPECT_TRUE(torch::allclose(mean, torch::tensor({2.0, 0.0, 5.0, 2.0, 0.0}, torch::kDouble))) << mean;
    // population std: column 0 {1, 3} -> 1; column 3 {0, 2, 4} -> sqrt(8/3); all-NaN and constant -> 1
    EXPECT_TRUE(torch::allclose(std, torch::tensor({1.0, 1.0, 1.0, std::sqrt(8.0 / 3.0), 1.0}, torch::kDouble))) << std;
}

TEST(AudioScoreModelTest, SaveLoadRoundTrip) {
    v2a::test::TempDir dir;
    auto [raw, t] = toy(40, 2, sync_rule);
    FitOptions o;
    o.hidden = 6;
    o.steps = 50;
    const std::vector<std::string> classes = {"a", "b", "c", "d"};
    auto fit = fit_audioscore(raw, t, o, torch::tensor({0.1, 0.2, 0.3, 0.4}, torch::kDouble), classes);
    const auto path = dir / "audioscore.safetensors";
    save_audioscore(path, fit.model);
    auto back = load_audioscore(path);
    EXPECT_EQ(back->options().hidden, 6);
    EXPECT_EQ(back->options().classes, classes);
    EXPECT_TRUE(torch::equal(back->probabilities(raw), fit.model->probabilities(raw)));
    EXPECT_TRUE(torch::equal(back->score_mean, fit.model->score_mean));
    EXPECT_TRUE(torch::equal(back->score_std, fit.model->score_std));
    EXPECT_TRUE(torch::allclose(back->class_marginal, torch::tensor({0.1, 0.2, 0.3, 0.4}, torch::kDouble)));
    // the options live in the checkpoint's config
    const auto config = nlohmann::json::parse(io::read_checkpoint_config(path));
    EXPECT_EQ(config["kind"], "audioscore");
    EXPECT_EQ(config["scores"][2], "desync");
    // another module's checkpoint, a missing file
    torch::nn::Linear other(2, 2);
    io::save_checkpoint(dir / "other.safetensors", *other, "{\"kind\": \"vae\"}");
    expect_error([&] { load_audioscore(dir / "other.safetensors"); }, ErrorKind::Data, "not an AudioScore model");
    expect_error([&] { load_audioscore(dir / "none.safetensors"); }, ErrorKind::IO, "none.safetensors");
}

TEST(AudioScoreFitTest, LearnsSeparableToyLabellingOnHeldOutRows) {
    auto [raw, t] = toy(300, 3, ib_and_sync_rule);
    FitOptions o;
    o.steps = 600;
    auto fit = fit_audioscore(raw.narrow(0, 0, 200), t.narrow(0, 0, 200), o);
    EXPECT_LT(fit.losses.back(), 0.5 * fit.losses.front());
    const auto e = evaluate_audioscore(fit.model, raw.narrow(0, 200, 100), t.narrow(0, 200, 100));
    EXPECT_GT(e.accuracy, 0.88) << format_evaluation(e);
    int64_t total = 0;
    for (const auto& row : e.confusion)
        for (int64_t c : row) total += c;
    EXPECT_EQ(total, 100);
    // the two informative inputs matter more than the three noise inputs
    EXPECT_GT(e.importance[0].accuracy_drop, 0.1);
    EXPECT_GT(e.importance[2].accuracy_drop, 0.1);
    for (int c : {1, 3, 4}) EXPECT_LT(e.importance[size_t(c)].accuracy_drop, 0.05) << e.importance[size_t(c)].name;
}

TEST(AudioScoreFitTest, DeterministicForASeedFullBatchAndMinibatch) {
    auto [raw, t] = toy(64, 4, sync_rule);
    for (int64_t batch : {0, 16}) {
        FitOptions o;
        o.steps = 40;
        o.batch_size = batch;
        o.seed = 9;
        torch::manual_seed(1);
        auto a = fit_audioscore(raw, t, o);
        torch::manual_seed(2);   // the global RNG does not matter
        auto b = fit_audioscore(raw, t, o);
        EXPECT_TRUE(torch::equal(a.model->fc1->weight, b.model->fc1->weight));
        EXPECT_TRUE(torch::equal(a.model->fc2->bias, b.model->fc2->bias));
        EXPECT_EQ(a.losses, b.losses);
        o.seed = 10;
        auto c = fit_audioscore(raw, t, o);
        EXPECT_FALSE(torch::equal(a.model->fc1->weight, c.model->fc1->weight));
    }
}

TEST(AudioScoreEvalTest, EceMatchesHandComputedValue) {
    // confidences 0.9 (right), 0.6 (wrong), 0.55 (right), 0.7 (right): bins (0.8,0.9], (0.5,0.6] x2, (0.6,0.7]
    // ECE = 1/4 |1 - 0.9| + 2/4 |0.5 - 0.575| + 1/4 |1 - 0.7| = 0.025 + 0.0375 + 0.075 = 0.1375
    auto p = torch::tensor({{0.9, 0.05, 0.05}, {0.6, 0.3, 0.1}, {0.25, 0.55, 0.2}, {0.1, 0.2, 0.7}}, torch::kDouble);
    auto t = torch::tensor({0, 1, 1, 2}, torch::kLong);
    const auto c = calibration(p, t, 10);
    EXPECT_NEAR(c.ece, 0.1375, 1e-12);
    ASSERT_EQ(c.bins.size(), 10u);
    EXPECT_EQ(c.bins[5].count, 2);
    EXPECT_NEAR(c.bins[5].confidence, 0.575, 1e-12);
    EXPECT_NEAR(c.bins[5].accuracy, 0.5, 1e-12);
    EXPECT_EQ(c.bins[8].count, 1);
    EXPECT_EQ(c.bins[6].count, 1);
    EXPECT_EQ(c.bins[0].count + c.bins[1].count + c.bins[9].count, 0);
    // perfectly calibrated and certain: ECE 0
    EXPECT_NEAR(calibration(torch::eye(3, torch::kDouble), torch::tensor({0, 1, 2}, torch::kLong)).ece, 0.0, 1e-12);
}

TEST(AudioScoreEvalTest, ConfusionMatrixCountsTrueByPredicted) {
    auto pred = torch::tensor({0, 0, 1, 2, 2, 2, 1}, torch::kLong);
    auto truth = torch::tensor({0, 1, 1, 2, 0, 2, 2}, torch::kLong);
    const auto m = confusion_matrix(pred, truth);
    const Confusion want = {{{1, 0, 1}, {1, 1, 0}, {0, 1, 2}}};
    EXPECT_EQ(m, want);
    expect_error([] { confusion_matrix(torch::tensor({3}, torch::kLong), torch::tensor({0}, torch::kLong)); },
                 ErrorKind::Usage, "[0, 3)");
}

TEST(AudioScoreEvalTest, PermutationImportanceFindsTheInformativeColumn) {
    auto [raw, t] = toy(240, 5, sync_rule);
    FitOptions o;
    o.steps = 500;
    auto fit = fit_audioscore(raw, t, o);
    const auto imp = input_importance(fit.model, raw, t, 5, 0);
    ASSERT_EQ(imp.size(), 5u);
    EXPECT_EQ(imp[2].name, "desync");
    EXPECT_GT(imp[2].accuracy_drop, 0.3);
    EXPECT_GT(imp[2].cross_entropy_increase, 0.5);
    for (int c : {0, 1, 3, 4}) {
        EXPECT_LT(imp[size_t(c)].accuracy_drop, 0.05) << imp[size_t(c)].name;
        EXPECT_LT(imp[size_t(c)].accuracy_drop, imp[2].accuracy_drop);
    }
    // the same seed gives the same shuffles
    const auto again = input_importance(fit.model, raw, t, 5, 0);
    for (size_t c = 0; c < 5; ++c) EXPECT_EQ(imp[c].accuracy_drop, again[c].accuracy_drop);
}

TEST(AudioScoreEvalTest, ReportJsonAndReliabilityDiagram) {
    v2a::test::TempDir dir;
    auto [raw, t] = toy(60, 6, sync_rule);
    FitOptions o;
    o.steps = 100;
    auto fit = fit_audioscore(raw, t, o);
    EvaluationOptions eo;
    eo.majority_class = 1;
    const auto e = evaluate_audioscore(fit.model, raw, t, eo);
    const auto j = e.to_json();
    EXPECT_EQ(j["n"], 60);
    EXPECT_EQ(j["confusion"]["matrix"].size(), 3u);
    EXPECT_EQ(j["reliability"].size(), 10u);
    EXPECT_EQ(j["importance"].size(), 5u);
    EXPECT_NEAR(j["majority_accuracy"].get<double>(), t.eq(1).to(torch::kDouble).mean().item<double>(), 1e-12);
    EXPECT_NE(format_evaluation(e).find("desync"), std::string::npos);
    if (!report::gnuplot_available()) GTEST_SKIP() << "gnuplot not installed";
    plot_reliability(dir / "rel.png", e.calibration, "test");
    EXPECT_GT(std::filesystem::file_size(dir / "rel.png"), 1000u);
}

// ---------------------------------------------------------------------------------------------
// Raw scores against tiny randomly initialised judges

class RawScoresTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::vector<io::ClipItem> items;
        items.push_back(test::make_clip("c0", 0, {6, 22, 40}, "a low beep", 1));
        items.push_back(test::make_clip("c1", 1, {10, 30}, "", 2));
        items.push_back(test::make_clip("c2", 2, {8, 25, 45}, "noise bursts", 3, "speech"));
        items.push_back(test::make_clip("c3", 0, {12, 36}, "", 4, "speech"));
        items.push_back(test::make_clip("c4", 1, {5, 20, 35, 50}, "a high beep", 5));
        data_ = new io::ClipDataset(std::move(items), test::clip_options());
        judge::JudgeSetup setup;
        setup.grid = {-0.4, 0.4, 9};
        setup.sync_window = 1.0;
        setup.embed_dim = 16;
        std::vector<std::shared_ptr<judge::JudgeModuleImpl>> modules;
        for (const auto& kind : judge::judge_kinds()) {
            torch::manual_seed(3);
            auto m = judge::new_judge(kind, *data_, setup);
            m->eval();
            modules.push_back(m);
        }
        judges_ = new judge::Judges(judge::judges_from_modules(modules));
    }
    static void TearDownTestSuite() {
        delete data_;
        delete judges_;
    }
    static std::vector<int64_t> all() { return {0, 1, 2, 3, 4}; }
    static ScoreInputs inputs(const torch::Tensor& audio) {
        ScoreInputs in;
        in.frames = data_->frames(all());
        in.audio = audio;
        in.captions = data_->captions(all());
        in.reference_audio = data_->audio(all());
        for (int64_t i : all()) in.is_speech.push_back(data_->items()[size_t(i)].label == "speech");
        return in;
    }
    static io::ClipDataset* data_;
    static judge::Judges* judges_;
};
io::ClipDataset* RawScoresTest::data_ = nullptr;
judge::Judges* RawScoresTest::judges_ = nullptr;

TEST_F(RawScoresTest, FiveScoresWithNanExactlyWhereNeutral) {
    // generated = ground truth with a little noise (so PESQ is defined and below its maximum)
    torch::manual_seed(4);
    const auto gt = data_->audio(all());
    const auto audio = gt + 0.01 * torch::randn(gt.sizes());
    const auto raw = compute_raw_scores(*judges_, inputs(audio), torch::full({3}, 1.0 / 3.0, torch::kDouble));
    ASSERT_EQ(raw.sizes(), (std::vector<int64_t>{5, 5}));
    EXPECT_EQ(raw.scalar_type(), torch::kDouble);
    const bool captioned[] = {true, false, true, false, true};
    const bool speech[] = {false, false, true, true, false};
    for (int64_t i = 0; i < 5; ++i) {
        EXPECT_TRUE(std::isfinite(raw[i][0].item<double>()));
        EXPECT_EQ(std::isnan(raw[i][1].item<double>()), !captioned[i]) << "clap of clip " << i;
        EXPECT_TRUE(std::isfinite(raw[i][2].item<double>()));
        EXPECT_TRUE(std::isfinite(raw[i][3].item<double>()));
        EXPECT_EQ(std::isnan(raw[i][4].item<double>()), !speech[i]) << "pesq of clip " << i;
        EXPECT_LE(std::abs(raw[i][0].item<double>()), 1.0 + 1e-6);
        EXPECT_GE(raw[i][3].item<double>(), -1e-9);   // a KL
        // DeSync is a mean of two grid offsets: a multiple of 0.05 within the +-0.4 s grid
        const double d = raw[i][2].item<double>() / 0.05;
        EXPECT_NEAR(d, std::round(d), 1e-6);
        EXPECT_LE(raw[i][2].item<double>(), 0.4 + 1e-9);
    }
    EXPECT_GE(raw[2][4].item<double>(), 1.0);   // MOS-LQO range
    EXPECT_LE(raw[2][4].item<double>(), 4.7);
    // quality against the uniform marginal = log 3 - entropy of the clip's class distribution
    const auto p = torch::softmax(judges_->cnn->classify(audio).logits.to(torch::kDouble), 1);
    const auto want = std::log(3.0) + (p * p.log()).sum(1);
    EXPECT_TRUE(torch::allclose(raw.select(1, 3), want, 1e-6, 1e-9));
    // undefined marginal: the batch's own
    const auto own = compute_raw_scores(*judges_, inputs(audio));
    const auto q = p.mean(0, true);
    EXPECT_TRUE(torch::allclose(own.select(1, 3), (p * (p.log() - q.log())).sum(1), 1e-6, 1e-9));
}

TEST_F(RawScoresTest, SilentSpeechGetsTheBottomPesqAndMissingJudgesAreNamed) {
    auto audio = data_->audio(all());
    audio[3].zero_();
    const auto raw = compute_raw_scores(*judges_, inputs(audio));
    EXPECT_EQ(raw[3][4].item<double>(), kPesqOfSilence);
    judge::Judges no_sync = *judges_;
    no_sync.sync.reset();
    expect_error([&] { compute_raw_scores(no_sync, inputs(audio)); }, ErrorKind::Model, "sync");
    judge::Judges no_text = *judges_;
    no_text.text.reset();
    expect_error([&] { compute_raw_scores(no_text, inputs(audio)); }, ErrorKind::Model, "text_audio");
    // without captions the CLAP judges are not needed
    auto in = inputs(audio);
    in.captions.assign(5, "");
    EXPECT_TRUE(torch::isnan(compute_raw_scores(no_text, in).select(1, 1)).all().item<bool>());
    in.captions.resize(2);
    expect_error([&] { compute_raw_scores(*judges_, in); }, ErrorKind::Usage, "2 captions for 5 clips");
}

TEST_F(RawScoresTest, ScorerAndSampleFilesGiveTheSameScores) {
    v2a::test::TempDir dir;
    const auto audio = data_->audio(all()) * 0.8;
    std::vector<SampleRecord> samples;
    for (int64_t i : all()) {
        const auto& item = data_->items()[size_t(i)];
        SampleRecord s{sample_id(item.id, 7), item.id, 7, dir / (sample_id(item.id, 7) + ".wav")};
        io::Audio a;
        a.sample_rate = 16000;
        a.samples.assign(audio[i].data_ptr<float>(), audio[i].data_ptr<float>() + audio.size(1));
        io::write_audio_file(s.audio, a);
        samples.push_back(s);
    }
    const auto marginal = sample_class_marginal(*judges_, *data_, samples, all(), 2);
    EXPECT_NEAR(marginal.sum().item<double>(), 1.0, 1e-9);
    SampleScoreOptions so;
    so.chunk = 2;
    so.progress = false;
    const auto from_files = score_samples(*judges_, *data_, samples, all(), marginal, so);
    // the WAV file is 16-bit or float: compare with the audio read back
    std::vector<torch::Tensor> back;
    for (const auto& s : samples) back.push_back(read_sample_audio(s, test::kSamples));
    const auto direct = compute_raw_scores(*judges_, inputs(torch::stack(back)), marginal);
    // (chunks of 2 vs one batch of 5: float rounding in the judges differs by ~1e-7)
    EXPECT_TRUE(torch::allclose(from_files, direct, 1e-5, 1e-6, /*equal_nan=*/true)) << from_files << direct;

    auto [raw, t] = toy(30, 7, sync_rule);
    FitOptions o;
    o.steps = 20;
    auto fit = fit_audioscore(raw, t, o, marginal, judges_->cnn->classes());
    AudioScorer scorer(*judges_, fit.model);
    const auto p = scorer.probabilities(inputs(torch::stack(back)));
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{5, 3}));
    EXPECT_TRUE(torch::allclose(p, fit.model->probabilities(direct)));
    // a model fit with another classifier is refused
    auto other = fit_audioscore(raw, t, o, torch::full({2}, 0.5, torch::kDouble), {"x", "y"});
    expect_error([&] { AudioScorer(*judges_, other.model); }, ErrorKind::Model, "classifier");
}

}  // namespace
}  // namespace v2a::score
