// Judges: losses against hand-computed values, offset-grid mapping, learning on a tiny synthetic
// audio-visual dataset, save/load round trips, evaluate() on hand-checkable inputs, and input errors.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/media.h"
#include "v2a/judge/evaluate.h"
#include "v2a/judge/judges.h"
#include "v2a/judge/networks.h"
#include "v2a/judge/training.h"

namespace v2a::judge {
namespace {

constexpr double kSeconds = 2.0;
constexpr int64_t kFrames = 50, kSamples = 32000;

// Three classes: low beeps, high beeps, noise bursts. The video is a coloured square (colour = class)
// that flashes white on every event frame, so sound events and visual events coincide.
io::ClipItem make_clip(const std::string& id, int cls, const std::vector<int>& event_frames, const std::string& caption,
                       uint64_t seed) {
    static const char* labels[] = {"low", "high", "noise"};
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::normal_distribution<float> noise(0.f, 1.f);
    io::ClipItem item;
    item.id = id;
    item.label = labels[cls];
    item.caption = caption;
    auto frames = torch::zeros({kFrames, 32, 32, 3}, torch::kUInt8);
    const uint8_t colour[3][3] = {{200, 40, 40}, {40, 200, 40}, {40, 40, 200}};
    for (int c = 0; c < 3; ++c) frames.index_put_({torch::indexing::Slice(), torch::indexing::Slice(8, 24),
                                                   torch::indexing::Slice(8, 24), c},
                                                  int(colour[cls][c]));
    std::vector<float> audio(size_t(kSamples), 0.f);
    nlohmann::json events = nlohmann::json::array();
    for (int f : event_frames) {
        frames.index_put_({f, torch::indexing::Slice(8, 24), torch::indexing::Slice(8, 24)}, 255);
        const int64_t s0 = int64_t(std::llround(f / 25.0 * 16000));
        for (int64_t k = 0; k < 1600 && s0 + k < kSamples; ++k) {
            const double env = std::exp(-double(k) / 400.0);
            const double t = double(k) / 16000.0;
            const double v = cls == 0 ? std::sin(2 * M_PI * 500 * t) : cls == 1 ? std::sin(2 * M_PI * 1500 * t) : 0.7 * noise(rng);
            audio[size_t(s0 + k)] += float(0.5 * env * v);
        }
        events.push_back({{"time", f / 25.0}, {"frame", f}});
    }
    item.frames = frames;
    item.audio = torch::tensor(audio);
    item.truth_json = nlohmann::json{{"label", item.label},
                                     {"sources", {{{"sounding", true}, {"events", events}}}}}
                          .dump();
    return item;
}

io::ClipDataset tiny_dataset(int per_class = 4, uint64_t seed = 1) {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::vector<io::ClipItem> items;
    const char* words[] = {"low beep", "high beep", "noise burst"};
    for (int c = 0; c < 3; ++c) {
        for (int i = 0; i < per_class; ++i) {
            std::vector<int> ev;
            int f = 3 + int(rng() % 6);
            while (f < kFrames - 4) {
                ev.push_back(f);
                f += 9 + int(rng() % 10);
            }
            const std::string caption = i == per_class - 1 ? "" : std::string("a ") + words[c];
            items.push_back(make_clip("c" + std::to_string(c) + "_" + std::to_string(i), c, ev, caption, seed * 100 + uint64_t(i)));
        }
    }
    io::ClipDatasetOptions o;
    o.duration = kSeconds;
    return io::ClipDataset(std::move(items), o);
}

JudgeSetup tiny_setup() {
    JudgeSetup s;
    s.grid = {-0.4, 0.4, 9};  // 0.1 s steps
    s.sync_window = 1.0;
    s.embed_dim = 32;
    return s;
}

// Plain Adam loop over judge_loss (the training loop itself is tested in tests/train).
std::pair<double, double> train_steps(JudgeModuleImpl& m, const io::ClipDataset& data, int steps, double lr,
                                      int64_t batch = 12) {
    torch::manual_seed(0);
    torch::optim::Adam opt(m.parameters(), torch::optim::AdamOptions(lr));
    auto gen = at::detail::createCPUGenerator(7);
    auto idx = trainable_indices(m.config().kind, data);
    std::mt19937 rng(3);
    double first = 0, last = 0;
    const int64_t n = std::min<int64_t>(batch, int64_t(idx.size()));
    for (int s = 0; s < steps; ++s) {
        std::shuffle(idx.begin(), idx.end(), rng);
        std::vector<int64_t> b(idx.begin(), idx.begin() + n);
        opt.zero_grad();
        auto loss = judge_loss(m, data, b, gen);
        loss.backward();
        opt.step();
        if (s < 5) first += loss.item<double>() / 5;
        if (s >= steps - 5) last += loss.item<double>() / 5;
    }
    return {first, last};
}

TEST(JudgeLossTest, InfoNceMatchesHandComputedValues) {
    auto eye = torch::eye(2);
    // logits = I: each row -log(e / (e + 1)) = log(1 + 1/e)
    EXPECT_NEAR(info_nce(eye, eye, torch::zeros({})).item<double>(), std::log(1 + std::exp(-1.0)), 1e-6);
    // b = [[1,0],[1,0]]: rows give log 2 twice; columns give log(1+1/e) and log(1+e)
    auto b = torch::tensor({{1.f, 0.f}, {1.f, 0.f}});
    const double expect = 0.5 * (std::log(2.0) + 0.5 * (std::log(1 + std::exp(-1.0)) + std::log(1 + std::exp(1.0))));
    EXPECT_NEAR(info_nce(eye, b, torch::zeros({})).item<double>(), expect, 1e-6);
    // the scale is clamped at 100: log_scale = log(1000) behaves as 100
    auto a = torch::tensor({{1.f, 0.f}, {0.6f, 0.8f}});
    EXPECT_NEAR(info_nce(a, eye, torch::full({}, std::log(1000.0))).item<double>(),
                info_nce(a, eye, torch::full({}, std::log(100.0))).item<double>(), 1e-6);
    // invariance to the embeddings' norms
    EXPECT_NEAR(info_nce(a * 3, eye * 0.5, torch::zeros({})).item<double>(), info_nce(a, eye, torch::zeros({})).item<double>(), 1e-6);
}

TEST(JudgeGridTest, OffsetGridMapping) {
    OffsetGrid g;  // +-1 s, 21 classes
    EXPECT_NEAR(g.step(), 0.1, 1e-12);
    EXPECT_NEAR(g.offset(0), -1.0, 1e-12);
    EXPECT_NEAR(g.offset(10), 0.0, 1e-12);
    EXPECT_NEAR(g.offset(20), 1.0, 1e-12);
    EXPECT_EQ(g.nearest_class(0.26), 13);
    EXPECT_EQ(g.nearest_class(-0.5), 5);
    EXPECT_EQ(g.nearest_class(5.0), 20);
    EXPECT_EQ(g.nearest_class(-5.0), 0);
    auto m = OffsetGrid::mmaudio();
    EXPECT_NEAR(m.step(), 0.2, 1e-12);
    EXPECT_EQ(m.nearest_class(0.5), 13);  // 0.4 and 0.6 are equidistant-ish: round(12.5) = 13 -> 0.6
    EXPECT_EQ(int64_t(g.offsets().size()), 21);
    // first and last scoring windows; centred window for an offset on the 25 fps grid
    EXPECT_EQ(sync_window_starts(4.0, 2.0), (std::vector<double>{0.0, 2.0}));
    EXPECT_NEAR(centred_window_start(4.0, 2.0, 0.5), 0.72, 1e-9);   // valid [0, 1.5] -> frames 0..37 -> 18
    EXPECT_NEAR(centred_window_start(4.0, 2.0, -1.0), 1.48, 1e-9);  // valid [1, 2] -> frames 25..50 -> 37
    EXPECT_THROW(centred_window_start(2.0, 2.0, 0.5), Error);
    // the shifted window takes audio from start + offset
    auto frames = torch::arange(100).to(torch::kUInt8).reshape({100, 1, 1, 1}).expand({100, 2, 2, 3});
    auto ramp = torch::arange(64000).to(torch::kFloat);
    auto [f, a] = shifted_window(frames, ramp, 0.72, 0.5, 2.0);
    EXPECT_EQ(f.size(0), 50);
    EXPECT_EQ(f[0][0][0][0].item<int>(), 18);
    EXPECT_EQ(a.size(0), 32000);
    EXPECT_EQ(a[0].item<float>(), float(std::llround(1.22 * 16000)));
    EXPECT_THROW(shifted_window(frames, ramp, 1.6, 0.5, 2.0), Error);
}

TEST(JudgeRetrievalTest, RecallOnHandMadeEmbeddings) {
    // query 0 -> key 0 best; query 1 -> key 0 better than key 1 (rank 2); query 2 -> own key best
    auto q = torch::tensor({{1.f, 0.f}, {1.f, 0.1f}, {0.f, 1.f}});
    auto k = torch::tensor({{1.f, 0.f}, {0.f, 1.f}, {0.1f, 1.f}});
    auto r = retrieval_recall(q, k);
    EXPECT_NEAR(r.r1, 1.0 / 3.0, 1e-12);  // query 2: key 1 (0,1) beats its own (0.1,1)
    EXPECT_NEAR(r.r5, 1.0, 1e-12);
    EXPECT_NEAR(r.chance_r1, 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(top1_accuracy(torch::tensor({{2.f, 1.f}, {0.f, 3.f}, {5.f, 1.f}}), torch::tensor({0, 1, 1})), 2.0 / 3.0, 1e-12);
}

TEST(JudgeTextTest, HashedBagIsDeterministicAndCaseInsensitive) {
    EXPECT_EQ(text_bag("A Dog, barking!", 4096), text_bag("a dog barking", 4096));
    EXPECT_EQ(text_bag("a dog barking", 4096).size(), 5u);  // 3 words + 2 bigrams
    EXPECT_TRUE(text_bag("", 4096).empty());
    for (auto id : text_bag("hello world again", 7)) EXPECT_TRUE(id >= 0 && id < 7);
}

class JudgeLearningTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { data_ = new io::ClipDataset(tiny_dataset()); }
    static void TearDownTestSuite() {
        delete data_;
        data_ = nullptr;
    }
    static io::ClipDataset* data_;
};
io::ClipDataset* JudgeLearningTest::data_ = nullptr;

TEST_F(JudgeLearningTest, ClassifiersLearnClasses) {
    for (const std::string kind : {kCnn, kTransformer}) {
        torch::manual_seed(0);
        auto m = new_judge(kind, *data_, tiny_setup());
        EXPECT_EQ(m->config().classes, (std::vector<std::string>{"high", "low", "noise"}));
        auto [first, last] = train_steps(*m, *data_, 30, 3e-3);
        EXPECT_LT(last, 0.5 * first) << kind;
        auto q = judge_quality(*m, *data_);
        EXPECT_GT(q["top1"].get<double>(), 0.8) << kind << " " << q.dump();
        EXPECT_NEAR(q["chance_top1"].get<double>(), 1.0 / 3.0, 1e-12);
    }
}

TEST_F(JudgeLearningTest, ContrastiveJudgesLearnPairs) {
    for (const std::string kind : {kVideoAudio, kTextAudio}) {
        torch::manual_seed(0);
        auto m = new_judge(kind, *data_, tiny_setup());
        auto [first, last] = train_steps(*m, *data_, 50, 3e-3);
        EXPECT_LT(last, first - 0.1) << kind;  // same-class clips differ only in timing: a slow start
        auto q = judge_quality(*m, *data_);
        const std::string s = kind == kVideoAudio ? "ib_score" : "clap";
        EXPECT_GT(q[s + "_paired"].get<double>(), q[s + "_mismatched"].get<double>()) << q.dump();
        const std::string r = kind == kVideoAudio ? "video_to_audio_r5" : "text_to_audio_r5";
        EXPECT_GT(q[r].get<double>(), q["chance_r5"].get<double>()) << q.dump();
    }
    // the text judge skips clips without a caption
    EXPECT_EQ(trainable_indices(kTextAudio, *data_).size(), 9u);
}

TEST_F(JudgeLearningTest, SyncJudgeLearnsOffsets) {
    torch::manual_seed(0);
    auto m = new_judge(kSync, *data_, tiny_setup());
    auto [first, last] = train_steps(*m, *data_, 50, 3e-3, 8);
    EXPECT_LT(last, 0.8 * first);
    auto q = judge_quality(*m, *data_);
    EXPECT_EQ(q["windows"].get<int64_t>(), 12 * 9);
    EXPECT_GT(q["within_one"].get<double>(), 2.0 * q["chance_within_one"].get<double>()) << q.dump();
}

TEST_F(JudgeLearningTest, NewJudgeRejectsUnusableData) {
    io::ClipDatasetOptions o;
    o.duration = kSeconds;
    std::vector<io::ClipItem> one_class;
    for (int i = 0; i < 3; ++i) one_class.push_back(make_clip("x" + std::to_string(i), 0, {5}, "", uint64_t(i)));
    io::ClipDataset d(one_class, o);
    EXPECT_THROW(new_judge(kCnn, d, tiny_setup()), Error);        // one class
    EXPECT_THROW(new_judge(kTextAudio, d, tiny_setup()), Error);  // no captions
    JudgeSetup wide = tiny_setup();
    wide.grid = {-2.0, 2.0, 21};
    try {
        new_judge(kSync, *data_, wide);  // 2 s clips cannot hold a 1 s window shifted by 2 s
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Data);
    }
    EXPECT_THROW(judge_role("imagebind"), Error);
}

TEST_F(JudgeLearningTest, SaveLoadRoundTripGivesIdenticalOutputs) {
    test::TempDir dir;
    auto audio = data_->audio({0, 4, 8});
    auto frames = data_->frames({0, 4, 8});
    std::vector<std::shared_ptr<JudgeModuleImpl>> originals;
    for (const auto& kind : judge_kinds()) {
        torch::manual_seed(1);
        auto m = new_judge(kind, *data_, tiny_setup());
        m->eval();
        save_judge(dir / (kind + ".safetensors"), *m);
        originals.push_back(m);
    }
    auto a = judges_from_modules(originals);
    auto b = load_judges(dir.path());
    EXPECT_EQ(b.loaded.size(), 5u);
    EXPECT_TRUE(torch::equal(a.cnn->classify(audio).logits, b.cnn->classify(audio).logits));
    EXPECT_TRUE(torch::equal(a.cnn->classify(audio).embedding, b.cnn->classify(audio).embedding));
    EXPECT_TRUE(torch::equal(a.transformer->classify(audio).logits, b.transformer->classify(audio).logits));
    EXPECT_TRUE(torch::equal(a.av_video->embed_video(frames), b.av_video->embed_video(frames)));
    EXPECT_TRUE(torch::equal(a.av_audio->embed_audio(audio), b.av_audio->embed_audio(audio)));
    EXPECT_TRUE(torch::equal(a.text->embed_text({"a low beep", ""}), b.text->embed_text({"a low beep", ""})));
    EXPECT_TRUE(torch::equal(a.text_audio->embed_audio(audio), b.text_audio->embed_audio(audio)));
    auto fw = frames.narrow(1, 0, 25), aw = audio.narrow(1, 0, 16000);
    EXPECT_TRUE(torch::equal(a.sync->offset_logits(fw, aw), b.sync->offset_logits(fw, aw)));
    EXPECT_EQ(b.sync->grid().size(), 9u);
    EXPECT_EQ(b.cnn->classes(), (std::vector<std::string>{"high", "low", "noise"}));
    // a damaged file is an error naming it
    fs::write_atomic(dir / "cnn.safetensors", std::string("not a safetensors file"));
    try {
        load_judges(dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cnn.safetensors"), std::string::npos) << e.what();
    }
}

// ---------------------------------------------------------------------------------------------
// evaluate()

class JudgeEvalTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        data_ = new io::ClipDataset(tiny_dataset(4, 5));
        std::vector<std::shared_ptr<JudgeModuleImpl>> modules;
        for (const auto& kind : judge_kinds()) {
            torch::manual_seed(2);
            auto m = new_judge(kind, *data_, tiny_setup());
            m->eval();
            modules.push_back(m);
        }
        judges_ = new Judges(judges_from_modules(modules));
    }
    static void TearDownTestSuite() {
        delete data_;
        delete judges_;
    }
    static std::map<std::string, torch::Tensor> gt_preds() {
        std::map<std::string, torch::Tensor> p;
        for (const auto& item : data_->items()) p[item.id] = item.audio.clone();
        return p;
    }
    static EvalOptions quiet() {
        EvalOptions o;
        o.progress = false;
        return o;
    }
    static io::ClipDataset* data_;
    static Judges* judges_;
};
io::ClipDataset* JudgeEvalTest::data_ = nullptr;
Judges* JudgeEvalTest::judges_ = nullptr;

TEST_F(JudgeEvalTest, GroundTruthAgainstItselfGivesZeroKlAndFd) {
    auto r = evaluate(*data_, gt_preds(), *judges_, quiet());
    EXPECT_NEAR(r.metrics.at("kl_cnn"), 0.0, 1e-9);
    EXPECT_NEAR(r.metrics.at("kl_transformer"), 0.0, 1e-9);
    EXPECT_NEAR(r.metrics.at("fd_cnn"), 0.0, 1e-3);
    EXPECT_NEAR(r.metrics.at("fd_transformer"), 0.0, 1e-3);  // D > N: rank-deficient covariances
    EXPECT_EQ(r.counts.at("clap"), 9);   // 3 clips have an empty caption: skipped
    EXPECT_EQ(r.counts.at("desync"), 12);
    EXPECT_TRUE(r.metrics.count("ib_score"));
    EXPECT_TRUE(r.metrics.count("av_align"));
    EXPECT_FALSE(r.metrics.count("pesq"));  // no speech clip
    // DeSync values lie on the grid: each window's |offset| is a multiple of 0.1
    for (const auto& [id, pc] : r.per_clip.items()) {
        for (const auto& o : pc["desync_offsets"]) {
            const double v = o.get<double>() / 0.1;
            EXPECT_NEAR(v, std::round(v), 1e-6);
        }
    }
    const auto table = format_table(r);
    EXPECT_NE(table.find("DeSync"), std::string::npos);
}

TEST_F(JudgeEvalTest, SiSdrAndOnsetF1OnHandMadePredictions) {
    // sin + 0.5 cos of the same frequency over whole periods: alpha = 1, error = 0.5 cos -> 10 log10(4) dB
    auto t = torch::arange(kSamples).to(torch::kDouble) / 16000.0;
    auto s = torch::sin(2 * M_PI * 250 * t).to(torch::kFloat), c = torch::cos(2 * M_PI * 250 * t).to(torch::kFloat);
    std::vector<io::ClipItem> items;
    for (int i = 0; i < 3; ++i) {
        auto item = make_clip("k" + std::to_string(i), i, {12, 25, 37}, "", uint64_t(i));
        item.audio = s;
        items.push_back(item);
    }
    io::ClipDatasetOptions o;
    o.duration = kSeconds;
    io::ClipDataset gt(items, o);
    std::map<std::string, torch::Tensor> pred;
    for (const auto& item : items) pred[item.id] = s + 0.5 * c;
    auto r = evaluate(gt, pred, *judges_, quiet());
    EXPECT_NEAR(r.metrics.at("si_sdr"), 10 * std::log10(4.0), 1e-3);

    // onsets: bursts exactly at the ground-truth event times -> F1 = 1; bursts 0.3 s late -> F1 = 0
    std::map<std::string, torch::Tensor> on_time, late;
    for (int i = 0; i < 3; ++i) {
        on_time[items[size_t(i)].id] = make_clip("x", 2, {12, 25, 37}, "", 9).audio;
        late[items[size_t(i)].id] = make_clip("x", 2, {20, 33, 45}, "", 9).audio;  // +8 frames = 0.32 s
    }
    EXPECT_NEAR(evaluate(gt, on_time, *judges_, quiet()).metrics.at("onset_f1"), 1.0, 1e-12);
    auto rl = evaluate(gt, late, *judges_, quiet());
    EXPECT_NEAR(rl.metrics.at("onset_f1"), 0.0, 1e-12);
    EXPECT_EQ(rl.counts.at("onset_f1"), 3);
}

TEST_F(JudgeEvalTest, UnpairedComputesFdAndIsOnly) {
    std::map<std::string, torch::Tensor> pred;
    int k = 0;
    for (const auto& item : data_->items()) pred["gen_" + std::to_string(k++)] = item.audio;  // ids need not match
    EvalOptions o = quiet();
    o.unpaired = true;
    auto r = evaluate(*data_, pred, *judges_, o);
    EXPECT_TRUE(r.metrics.count("fd_cnn") && r.metrics.count("is_cnn") && r.metrics.count("is_transformer"));
    EXPECT_FALSE(r.metrics.count("kl_cnn"));
    EXPECT_FALSE(r.metrics.count("ib_score"));
    EXPECT_FALSE(r.metrics.count("desync"));
}

void expect_data_error_naming(const std::function<void()>& fn, const std::string& needle) {
    try {
        fn();
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Data) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST_F(JudgeEvalTest, ErrorsNameTheClipOrFile) {
    auto p = gt_preds();
    p["stranger"] = p.begin()->second;
    expect_data_error_naming([&] { evaluate(*data_, p, *judges_, quiet()); }, "stranger");
    auto missing = gt_preds();
    missing.erase("c1_2");
    expect_data_error_naming([&] { evaluate(*data_, missing, *judges_, quiet()); }, "c1_2");
    auto silent = gt_preds();
    silent["c2_0"] = torch::zeros({kSamples});
    expect_data_error_naming([&] { evaluate(*data_, silent, *judges_, quiet()); }, "c2_0");
    EvalOptions allow = quiet();
    allow.allow_silent = true;
    EXPECT_NO_THROW(evaluate(*data_, silent, *judges_, allow));
    auto nan = gt_preds();
    nan["c0_1"][5] = std::nanf("");
    expect_data_error_naming([&] { evaluate(*data_, nan, *judges_, quiet()); }, "c0_1");

    test::TempDir dir;
    expect_data_error_naming([&] { read_predictions(dir.path()); }, dir.path().string());  // empty
    io::Audio a;
    a.samples.assign(8000, 0.1f);
    a.sample_rate = 8000;
    io::write_audio_file(dir / "c0_0.wav", a);
    expect_data_error_naming([&] { read_predictions(dir.path()); }, "c0_0.wav");
    auto resampled = read_predictions(dir.path(), 16000, true);
    EXPECT_NEAR(double(resampled.at("c0_0").size(0)), 16000.0, 64.0);
    try {
        load_judges(dir / "nope");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::IO);
        EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
    }
    try {
        load_judges(dir.path());  // exists but holds no judge
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos);
    }
}

}  // namespace
}  // namespace v2a::judge
