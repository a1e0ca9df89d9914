// The sync encoder's onset signal: token windows, onset-strength targets from audio with a known
// burst (hand-placed times), the loss against a hand-computed value, errors for bad input, and the
// learning it exists for: a fresh sync encoder + head learns where a flash is from audio targets.
#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "v2a/model/sync_encoder.h"
#include "v2a/train/sync_onset.h"

namespace v2a::train {
namespace {

constexpr int kRate = 16000;

// [n] samples of silence with a 20 ms decaying noise burst starting at each time in `at` (seconds).
torch::Tensor bursts(int64_t n, const std::vector<double>& at, uint64_t seed) {
    auto g = torch::make_generator<at::CPUGeneratorImpl>(seed);
    auto y = torch::zeros({n});
    const int64_t len = kRate / 50;
    const auto env = torch::exp(-torch::arange(len, torch::kFloat) / float(len / 4));
    for (double t : at) {
        const int64_t s = int64_t(t * kRate);
        y.narrow(0, s, len).add_(torch::randn({len}, g) * env * 0.5);
    }
    return y;
}

using model::SyncTokenLayout;

TEST(SyncOnsetTest, TokenWindowsFollowTheSegmentLayout) {
    // Token j of segment s covers 25 fps frames 8s + 2j and 8s + 2j + 1.
    const auto w = [](int64_t k) { return sync_token_window(k, SyncTokenLayout::Segment, 100); };
    EXPECT_DOUBLE_EQ(w(0).first, 0.0);
    EXPECT_DOUBLE_EQ(w(0).second, 0.08);
    EXPECT_DOUBLE_EQ(w(7).first, 14.0 / 25.0);   // last token of segment 0
    EXPECT_DOUBLE_EQ(w(8).first, 8.0 / 25.0);    // segment 1 starts at frame 8
    EXPECT_DOUBLE_EQ(w(20).first, 24.0 / 25.0);  // segment 2, j 4: frames 24, 25
}

TEST(SyncOnsetTest, TokenWindowsTileTheClipInTheUniformLayout) {
    // 4 s, 88 tokens: token k covers [k, k + 1) * 4 / 88 s, so its centre is its time (k + 0.5) * 4 / 88.
    const auto w = [](int64_t k) { return sync_token_window(k, SyncTokenLayout::Uniform, 100); };
    EXPECT_DOUBLE_EQ(w(0).first, 0.0);
    EXPECT_DOUBLE_EQ(w(0).second, 4.0 / 88.0);
    EXPECT_DOUBLE_EQ(w(22).first, 1.0);          // token 22 starts at 22 * 4 / 88 = 1 s
    EXPECT_DOUBLE_EQ(w(87).second, 4.0);
    // Where the Segment layout differs: flattened token 8 is back at 0.32 s, Uniform token 8 at 0.364 s,
    // and Segment token 87 ends at 3.84 s.
    EXPECT_DOUBLE_EQ(w(8).first, 8.0 * 4.0 / 88.0);
    EXPECT_DOUBLE_EQ(sync_token_window(87, SyncTokenLayout::Segment, 100).second, 3.84);
    test::expect_error([&] { w(88); }, ErrorKind::Data, "outside 0 .. 87");
    test::expect_error([&] { w(-1); }, ErrorKind::Data, "outside 0 .. 87");
}

class SyncOnsetTargetsTest : public ::testing::TestWithParam<SyncTokenLayout> {};

TEST_P(SyncOnsetTargetsTest, PeakAtTheTokensCoveringEachBurst) {
    const SyncTokenLayout layout = GetParam();
    const int64_t frames = 100;  // 4 s: 11 segments, 88 tokens
    const std::vector<double> at{1.0, 2.6};
    const auto audio = torch::stack({bursts(4 * kRate, at, 1), torch::zeros({4 * kRate})});
    const auto y = sync_onset_targets(audio, kRate, frames, layout);
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 88}));
    EXPECT_FLOAT_EQ(y[0].max().item<float>(), 1.0f);
    EXPECT_FLOAT_EQ(y[1].abs().max().item<float>(), 0.0f);  // a silent clip has no onsets
    for (int64_t k = 0; k < 88; ++k) {
        const auto [t0, t1] = sync_token_window(k, layout, frames);
        double gap = 1e9;  // distance from the token's window to the nearest burst
        for (double t : at) gap = std::min(gap, std::max({0.0, t0 - t, t - t1}));
        const float v = y[0][k].item<float>();
        if (gap > 0.15) EXPECT_LT(v, 0.1f) << "token " << k << " is " << gap << " s from any burst";
        if (t0 <= at[0] - 0.02 && at[0] + 0.02 < t1) EXPECT_GT(v, 0.5f) << "token " << k << " covers the burst at 1.0 s";
        if (t0 <= at[1] - 0.02 && at[1] + 0.02 < t1) EXPECT_GT(v, 0.5f) << "token " << k << " covers the burst at 2.6 s";
    }
    // Each burst is carried by a token next to it: the best token within 0.05 s of the burst is > 0.5.
    for (double t : at) {
        float best = 0;
        for (int64_t k = 0; k < 88; ++k) {
            const auto [t0, t1] = sync_token_window(k, layout, frames);
            if (t0 - 0.05 <= t && t < t1 + 0.05) best = std::max(best, y[0][k].item<float>());
        }
        EXPECT_GT(best, 0.5f) << "burst at " << t << " s";
    }
}

INSTANTIATE_TEST_SUITE_P(Layouts, SyncOnsetTargetsTest, ::testing::Values(SyncTokenLayout::Segment, SyncTokenLayout::Uniform),
                         [](const auto& info) { return model::to_string(info.param); });

TEST(SyncOnsetTest, LossIsMeanSquaredErrorAndInputsAreChecked) {
    const auto p = torch::tensor({{0.0f, 1.0f}, {0.5f, 0.5f}}), t = torch::tensor({{1.0f, 1.0f}, {0.0f, 0.5f}});
    EXPECT_NEAR(sync_onset_loss(p, t).item<double>(), (1.0 + 0.0 + 0.25 + 0.0) / 4.0, 1e-7);
    test::expect_error([&] { sync_onset_loss(p, t.narrow(1, 0, 1)); }, ErrorKind::Data, "differ in shape");
    const auto U = SyncTokenLayout::Uniform;
    test::expect_error([&] { sync_onset_targets(torch::zeros({kRate * 4}), kRate, 100, U); }, ErrorKind::Data, "[B, S]");
    test::expect_error([&] { sync_onset_targets(torch::zeros({1, kRate}), kRate, 100, U); }, ErrorKind::Data, "shorter than the 4 s");
    test::expect_error([&] { sync_onset_targets(torch::zeros({1, kRate}), kRate, 10, U); }, ErrorKind::Data, "shorter than one 16-frame segment");
}

TEST(SyncOnsetTest, FreshSyncEncoderLearnsWhereAFlashIsFromAudioTargets) {
    torch::manual_seed(3);
    const int threads_before = torch::get_num_threads();
    torch::set_num_threads(1);
    using namespace model;
    // The Uniform layout, the one the learned presets train (D11); its targets use its own windows.
    SyncEncoder enc(SyncEncoderOptions(24).frame_size(32).stem_channels({8, 8, 16, 16}).temporal_channels(16).onset_head(true)
                        .token_layout(SyncTokenLayout::Uniform));
    torch::optim::Adam opt(enc->parameters(), torch::optim::AdamOptions(3e-3));
    auto g = torch::make_generator<at::CPUGeneratorImpl>(4);
    const int64_t T = 40;  // 1.6 s: 4 segments, 32 tokens
    // A batch of dim textured clips, each with one white flash at a random frame and an audio burst there.
    auto make = [&](int64_t B, uint64_t seed) {
        auto frames = (torch::rand({B, T, 32, 32, 3}, g) * 60 + 60).to(torch::kByte);
        std::vector<torch::Tensor> audio;
        for (int64_t b = 0; b < B; ++b) {
            const int64_t f = torch::randint(2, T - 2, {1}, g, torch::kLong).item<int64_t>();
            frames[b].narrow(0, f, 1).fill_(250);
            audio.push_back(bursts(T * kRate / 25, {double(f) / 25.0}, seed + uint64_t(b)));
        }
        return std::make_pair(frames, sync_onset_targets(torch::stack(audio), kRate, T, SyncTokenLayout::Uniform));
    };
    const auto [vx, vy] = make(16, 1000);
    auto val_loss = [&] {
        torch::NoGradGuard no_grad;
        return sync_onset_loss(enc->predict_onsets(enc(vx)), vy).item<double>();
    };
    const double before = val_loss();
    for (int step = 0; step < 60; ++step) {
        const auto [x, y] = make(8, uint64_t(step) * 100);
        const auto loss = sync_onset_loss(enc->predict_onsets(enc(x)), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    const double after = val_loss();
    torch::set_num_threads(threads_before);
    EXPECT_LT(after, 0.5 * before) << "held-out onset loss " << before << " -> " << after;
}

}  // namespace
}  // namespace v2a::train
