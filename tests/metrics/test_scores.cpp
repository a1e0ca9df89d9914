// Cosine scores (IB / CLAP), DeSync aggregation, SI-SDR, onset F1 and AV-Align IoU.
#include <gtest/gtest.h>

#include <cmath>

#include "metrics/fixtures.h"
#include "v2a/core/error.h"
#include "v2a/metrics/desync.h"
#include "v2a/metrics/events.h"
#include "v2a/metrics/similarity.h"
#include "v2a/metrics/sisdr.h"

namespace v2a::metrics {
namespace {

TEST(CosineTest, MeanOfPairedCosinesAndPercent) {
    const auto a = torch::tensor({{1.0, 0.0}, {1.0, 1.0}, {3.0, 4.0}}, torch::kFloat64);
    const auto b = torch::tensor({{2.0, 0.0}, {-1.0, 1.0}, {4.0, 3.0}}, torch::kFloat64);
    // cosines: 1, 0, 24/25.
    EXPECT_NEAR(mean_cosine_score(a, b), (1.0 + 0.0 + 0.96) / 3.0, 1e-15);
    CosineScoreOptions pct;
    pct.percent = true;
    EXPECT_NEAR(mean_cosine_score(a, b, pct), 100.0 * 1.96 / 3.0, 1e-12);
    // Zero vector: torch's eps floor gives cosine 0 instead of NaN.
    EXPECT_EQ(paired_cosine(torch::zeros({1, 2}), torch::ones({1, 2}))[0].item<double>(), 0.0);
}

TEST(CosineTest, BadInputsAreDataErrors) {
    test::expect_error([] { mean_cosine_score(torch::zeros({3, 4}), torch::zeros({2, 4})); }, ErrorKind::Data,
                       "shapes differ");
    test::expect_error([] { mean_cosine_score(torch::zeros({0, 4}), torch::zeros({0, 4})); }, ErrorKind::Data,
                       "no embeddings");
    auto bad = torch::ones({2, 4});
    bad[1][0] = NAN;
    test::expect_error([&] { mean_cosine_score(bad, torch::ones({2, 4})); }, ErrorKind::Data, "NaN");
}

TEST(DesyncTest, GridIsLinspaceMinus2To2) {
    const auto g = desync_grid();
    ASSERT_EQ(g.size(), 21u);
    EXPECT_EQ(g.front(), -2.0);
    EXPECT_EQ(g.back(), 2.0);
    EXPECT_NEAR(g[10], 0.0, 1e-15);
    EXPECT_NEAR(g[11], 0.2, 1e-15);
}

TEST(DesyncTest, WindowsOfAn8SecondClip) {
    const auto [first, last] = desync_windows(24);
    EXPECT_EQ(first.first, 0);
    EXPECT_EQ(first.second, 14);
    EXPECT_EQ(last.first, 10);
    EXPECT_EQ(last.second, 24);
    test::expect_error([] { desync_windows(13); }, ErrorKind::Data, "fewer than the scoring window");
}

TEST(DesyncTest, MeanAbsoluteArgmaxOffsetOverAllWindows) {
    // 2 clips x 2 windows; argmax classes 10 (0 s), 13 (+0.6 s), 5 (−1.0 s), 20 (+2.0 s).
    auto logits = torch::zeros({2, 2, 21}, torch::kFloat64);
    logits[0][0][10] = 5.0;
    logits[0][1][13] = 1.0;
    logits[1][0][5] = 2.0;
    logits[1][1][20] = 3.0;
    const auto off = offsets_from_logits(logits);
    EXPECT_NEAR(off[0][1].item<double>(), 0.6, 1e-12);
    EXPECT_NEAR(off[1][0].item<double>(), -1.0, 1e-12);
    EXPECT_NEAR(desync_from_logits(logits), (0.0 + 0.6 + 1.0 + 2.0) / 4.0, 1e-12);
    test::expect_error([] { offsets_from_logits(torch::zeros({2, 2, 20})); }, ErrorKind::Data, "expected 21");
}

TEST(SiSdrTest, TorchmetricsDocVector) {
    const auto target = torch::tensor({3.0, -0.5, 2.0, 7.0}, torch::kFloat64);
    const auto preds = torch::tensor({2.5, 0.0, 2.0, 8.0}, torch::kFloat64);
    EXPECT_NEAR(si_sdr(preds, target).item<double>(), 18.4030, 5e-5);
    EXPECT_NEAR(si_sdr(preds, target).item<double>(), 18.40299, 5e-6);
    SiSdrOptions zm;
    zm.zero_mean = true;
    EXPECT_NEAR(si_sdr(preds, target, zm).item<double>(), 15.09176, 5e-6);
    // Float32 input gives the same value (arithmetic is double).
    EXPECT_NEAR(si_sdr(preds.to(torch::kFloat32), target.to(torch::kFloat32)).item<double>(), 18.40299, 5e-6);
}

TEST(SiSdrTest, ScaleInvariantAndBatched) {
    torch::manual_seed(0);
    const auto t = torch::randn({3, 400}, torch::kFloat64);
    const auto p = t + 0.1 * torch::randn({3, 400}, torch::kFloat64);
    const auto base = si_sdr(p, t);
    ASSERT_EQ(base.sizes(), torch::IntArrayRef({3}));
    EXPECT_NEAR(si_sdr(p, 7.0 * t)[1].item<double>(), base[1].item<double>(), 1e-6);
    EXPECT_NEAR(mean_si_sdr(p, t), base.mean().item<double>(), 1e-12);
    EXPECT_GT(base.min().item<double>(), 15.0);  // ~20 dB for 10 % noise
}

TEST(SiSdrTest, StftMagnitudeVariantIgnoresSmallShifts) {
    // A 2-sample delay of a tone destroys time-domain SI-SDR but barely changes |STFT|.
    const auto n = torch::arange(16000, torch::kFloat64);
    const auto target = torch::sin(2 * M_PI * 440.0 * n / 16000.0);
    const auto shifted = torch::sin(2 * M_PI * 440.0 * (n - 9.0) / 16000.0);
    EXPECT_LT(si_sdr(shifted, target).item<double>(), 0.0);
    EXPECT_GT(stft_magnitude_si_sdr(shifted, target).item<double>(), 10.0);
    // Scale invariance carries over to magnitudes.
    const auto noisy = target + 0.3 * torch::sin(2 * M_PI * 1234.0 * n / 16000.0);
    EXPECT_NEAR(stft_magnitude_si_sdr(3.0 * noisy, target).item<double>(),
                stft_magnitude_si_sdr(noisy, target).item<double>(), 1e-6);
}

TEST(SiSdrTest, BadInputsAreDataErrors) {
    test::expect_error([] { si_sdr(torch::zeros({4}), torch::zeros({5})); }, ErrorKind::Data, "differ in shape");
    test::expect_error([] { si_sdr(torch::zeros({0}), torch::zeros({0})); }, ErrorKind::Data, "empty");
    auto bad = torch::ones({4});
    bad[2] = NAN;
    test::expect_error([&] { si_sdr(bad, torch::ones({4})); }, ErrorKind::Data, "NaN");
    test::expect_error([] { stft_magnitude_si_sdr(torch::ones({100}), torch::ones({100})); }, ErrorKind::Data,
                       "too short");
}

TEST(OnsetF1Test, OneToOneWithinWindow) {
    // 0.10 matches 0.15; 0.50 matches 0.45; 1.00 has none; 2.00 is a false alarm.
    const auto r = onset_f1({0.10, 0.50, 1.00}, {0.15, 0.45, 2.00});
    EXPECT_EQ(r.matches, 2);
    EXPECT_NEAR(r.precision, 2.0 / 3.0, 1e-15);
    EXPECT_NEAR(r.recall, 2.0 / 3.0, 1e-15);
    EXPECT_NEAR(r.f1, 2.0 / 3.0, 1e-15);
    // Two estimates near one reference count once.
    const auto d = onset_f1({1.0}, {0.95, 1.02});
    EXPECT_EQ(d.matches, 1);
    EXPECT_NEAR(d.precision, 0.5, 1e-15);
    EXPECT_NEAR(d.recall, 1.0, 1e-15);
}

TEST(OnsetF1Test, MaximumMatchingBeatsNearestGreedy) {
    // Nearest-first would pair 0.20 with 0.22 and leave 0.25 alone (0.12 is 0.13 away);
    // the bipartite matching pairs 0.20–0.12 and 0.25–0.22.
    const auto r = onset_f1({0.20, 0.25}, {0.12, 0.22});
    EXPECT_EQ(r.matches, 2);
    EXPECT_EQ(r.f1, 1.0);
    OnsetF1Options tight;
    tight.window = 0.05;
    EXPECT_EQ(onset_f1({0.20, 0.25}, {0.12, 0.22}, tight).matches, 1);
}

TEST(OnsetF1Test, EmptyListsGiveZeroAndBadEventsThrow) {
    const auto r = onset_f1({}, {0.5});
    EXPECT_EQ(r.f1, 0.0);
    EXPECT_EQ(r.precision, 0.0);
    test::expect_error([] { onset_f1({0.5, 0.2}, {0.1}); }, ErrorKind::Data, "reference events are not in increasing");
    test::expect_error([] { onset_f1({0.5}, {NAN}); }, ErrorKind::Data, "estimated event 0 is not finite");
}

TEST(AvAlignIouTest, HandCheckedVector) {
    // metrics.md §2: A = [0.10, 0.50, 0.52, 1.00], V = [0.08, 0.48, 2.0], fps 25 -> I = 2 -> 0.4.
    EXPECT_NEAR(av_align_iou({0.10, 0.50, 0.52, 1.00}, {0.08, 0.48, 2.0}, 25.0), 0.4, 1e-15);
}

TEST(AvAlignIouTest, OpenWindowAndGreedyOrder) {
    // Exactly one frame apart is outside the open window.
    EXPECT_EQ(av_align_iou({0.5}, {0.5 + 1.0 / 16.0}, 16.0), 0.0);
    // Greedy in audio order (±0.1 s at 10 fps): 0.30 takes video 0.26 (first unused in window), so 0.22 finds none,
    // although a maximum matching would have paired both.
    EXPECT_NEAR(av_align_iou({0.30, 0.22}, {0.26, 0.34}, 10.0), 1.0 / 3.0, 1e-15);
    test::expect_error([] { av_align_iou({}, {}, 25.0); }, ErrorKind::Data, "IoU undefined");
    test::expect_error([] { av_align_iou({0.1}, {0.1}, 0.0); }, ErrorKind::Data, "frame rate");
}

}  // namespace
}  // namespace v2a::metrics
