#include <gtest/gtest.h>

#include "metrics/fixtures.h"
#include "v2a/core/error.h"
#include "v2a/metrics/frame_transcription.h"

namespace v2a::metrics {
namespace {

// Hand example (T=3 frames, K=3 keys):
//   frame 0: est {0,1} ref {0}   -> TP 1
//   frame 1: est {}    ref {}    -> TP 0
//   frame 2: est {0,2} ref {0,1} -> TP 1
torch::Tensor est_roll() { return torch::tensor({{1, 1, 0}, {0, 0, 0}, {1, 0, 1}}).to(torch::kBool); }
torch::Tensor ref_roll() { return torch::tensor({{1, 0, 0}, {0, 0, 0}, {1, 1, 0}}).to(torch::kBool); }

TEST(FrameMetricsTest, MirEvalMicroAverage) {
    const auto s = frame_metrics(est_roll(), ref_roll());
    EXPECT_NEAR(s.precision, 2.0 / 4.0, 1e-15);
    EXPECT_NEAR(s.recall, 2.0 / 3.0, 1e-15);
    EXPECT_NEAR(s.accuracy, 2.0 / (4 + 3 - 2), 1e-15);
    EXPECT_NEAR(s.f1, 4.0 / 7.0, 1e-15);
}

TEST(FrameMetricsTest, AudeoSamplesAverageWithZeroDivisionOne) {
    FrameMetricsOptions o;
    o.convention = FrameConvention::Audeo;
    const auto s = frame_metrics(est_roll(), ref_roll(), o);
    EXPECT_NEAR(s.precision, (0.5 + 1.0 + 0.5) / 3, 1e-15);      // empty frame counts as 1
    EXPECT_NEAR(s.recall, (1.0 + 1.0 + 0.5) / 3, 1e-15);
    EXPECT_NEAR(s.f1, (2.0 / 3 + 1.0 + 0.5) / 3, 1e-15);        // per-frame F1, then mean
    EXPECT_NEAR(s.accuracy, (0.5 + 1.0 + 1.0 / 3) / 3, 1e-15);
}

TEST(FrameMetricsTest, CopWeightedByKeySupport) {
    FrameMetricsOptions o;
    o.convention = FrameConvention::CoP;
    const auto s = frame_metrics(est_roll(), ref_roll(), o);
    // key 0: P=R=F=1 (support 2); key 1: 0 (support 1); key 2: P 0, R 1 by zero_division, support 0.
    EXPECT_NEAR(s.precision, 2.0 / 3, 1e-15);
    EXPECT_NEAR(s.recall, 2.0 / 3, 1e-15);
    EXPECT_NEAR(s.f1, 2.0 / 3, 1e-15);
    EXPECT_NEAR(s.accuracy, (0.5 + 1.0 + 1.0 / 3) / 3, 1e-15);
}

TEST(FrameMetricsTest, ThresholdsOnNumericRolls) {
    const auto probs = torch::tensor({{0.4, 0.39}, {0.9, 0.0}}, torch::kFloat64);
    const auto ref = torch::tensor({{1, 0}, {1, 0}}).to(torch::kBool);
    FrameMetricsOptions audeo;
    audeo.convention = FrameConvention::Audeo;
    audeo.threshold = 0.4;
    audeo.inclusive = true;  // >= 0.4 keeps the 0.4 entry
    EXPECT_EQ(frame_metrics(probs, ref, audeo).f1, 1.0);
    audeo.inclusive = false;
    EXPECT_NEAR(frame_metrics(probs, ref, audeo).f1, 0.5, 1e-15);
}

TEST(FrameMetricsTest, EmptyEstimateGivesZeroForMirEval) {
    const auto s = frame_metrics(torch::zeros({4, 3}, torch::kBool), ref_roll().repeat({2, 1}).slice(0, 0, 4));
    EXPECT_EQ(s.precision, 0.0);
    EXPECT_EQ(s.recall, 0.0);
    EXPECT_EQ(s.f1, 0.0);
}

TEST(FrameMetricsTest, BadInputsAreDataErrors) {
    test::expect_error([] { frame_metrics(torch::zeros({3, 4}), torch::zeros({3, 5})); }, ErrorKind::Data,
                       "differ in shape");
    test::expect_error([] { frame_metrics(torch::zeros({0, 4}), torch::zeros({0, 4})); }, ErrorKind::Data, "empty");
    auto bad = torch::zeros({2, 2});
    bad[0][0] = NAN;
    test::expect_error([&] { frame_metrics(bad, torch::zeros({2, 2})); }, ErrorKind::Data, "estimated roll contains NaN");
}

TEST(NotesToRollTest, HalfOpenIntervalsOnTheFrameGrid) {
    // 10 fps: note [0.1, 0.3) covers frames 1, 2; note [0.25, 0.31) covers frame 3 only.
    const auto roll = notes_to_roll({{0.1, 0.3, 60}, {0.25, 0.31, 62}}, 10.0, 5, 60, 3);
    const auto expected =
        torch::tensor({{0, 0, 0}, {1, 0, 0}, {1, 0, 0}, {0, 0, 1}, {0, 0, 0}}).to(torch::kBool);
    EXPECT_TRUE(torch::equal(roll, expected)) << roll;
    test::expect_error([] { notes_to_roll({{0.0, 1.0, 80}}, 10.0, 5, 60, 3); }, ErrorKind::Data, "outside keys");
    test::expect_error([] { notes_to_roll({{1.0, 0.5, 60}}, 10.0, 5, 60, 3); }, ErrorKind::Data, "bad times");
}

}  // namespace
}  // namespace v2a::metrics
