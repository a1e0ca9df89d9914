#include <gtest/gtest.h>

#include <cmath>

#include "metrics/fixtures.h"
#include "v2a/core/error.h"
#include "v2a/metrics/av_align.h"

namespace v2a::metrics {
namespace {

// A bright textured square on a dark background that jumps 4 px right at each frame in `jumps`
// and stands still otherwise. [T, 64, 64, 3] uint8.
torch::Tensor jumping_square(int64_t frames, const std::vector<int64_t>& jumps) {
    auto video = torch::full({frames, 64, 64, 3}, 20, torch::kUInt8);
    int64_t x = 8;
    for (int64_t t = 0; t < frames; ++t) {
        for (auto j : jumps)
            if (j == t) x += 4;
        for (int64_t r = 20; r < 44; ++r)
            for (int64_t c = 0; c < 24; ++c) {
                const auto v = static_cast<uint8_t>(150 + ((r * 7 + c * 13) % 100));  // texture for the flow
                video[t][r][x + c] = torch::full({3}, v, torch::kUInt8);
            }
    }
    return video;
}

torch::Tensor bursts(double sr, double seconds, const std::vector<double>& starts) {
    const auto n = static_cast<int64_t>(std::llround(sr * seconds));
    auto y = torch::zeros({n}, torch::kFloat64);
    auto acc = y.accessor<double, 1>();
    for (double t0 : starts)
        for (int64_t i = static_cast<int64_t>(std::ceil(t0 * sr)); i < n; ++i) {
            const double t = static_cast<double>(i) / sr - t0;
            acc[i] += 0.8 * std::exp(-t * 25.0) * std::sin(2 * M_PI * 660.0 * t);
        }
    return y;
}

TEST(AvAlignTest, TrajectoryDuplicatesFirstPairAndPeaksAtJumps) {
    const auto video = jumping_square(50, {10, 25, 40});
    const auto traj = optical_flow_trajectory(video);
    ASSERT_EQ(traj.size(), 50u);
    EXPECT_EQ(traj[0], traj[1]);  // reference quirk
    EXPECT_GT(traj[10], 0.1);
    EXPECT_LT(traj[5], 0.01);     // still frames: no flow
    const auto peaks = video_peak_times(traj, 25.0);
    ASSERT_EQ(peaks.size(), 3u);
    EXPECT_NEAR(peaks[0], 10 / 25.0, 1e-12);
    EXPECT_NEAR(peaks[1], 25 / 25.0, 1e-12);
    EXPECT_NEAR(peaks[2], 40 / 25.0, 1e-12);
}

TEST(AvAlignTest, PeakFloorAndStrictMaxima) {
    const std::vector<double> traj = {0.0, 0.05, 0.0, 0.5, 0.5, 0.0, 0.3, 0.0};
    // 0.05 is under the floor; the 0.5 plateau is not a strict maximum; 0.3 at index 6 is.
    EXPECT_EQ(video_peak_times(traj, 10.0), (std::vector<double>{0.6}));
    EXPECT_EQ(video_peak_times(traj, 10.0, 0.0), (std::vector<double>{0.1, 0.6}));  // 2023 code: no floor
}

TEST(AvAlignTest, SynchronisedClipScoresOneAndShiftedClipZero) {
    const auto video = jumping_square(50, {10, 25, 40});
    const auto synced = av_align(video, 25.0, bursts(22050, 2.0, {0.4, 1.0, 1.6}));
    EXPECT_EQ(synced.audio_peaks.size(), 3u);
    EXPECT_EQ(synced.score, 1.0);
    const auto shifted = av_align(video, 25.0, bursts(22050, 2.0, {0.7, 1.3}));
    EXPECT_EQ(shifted.score, 0.0);
}

TEST(AvAlignTest, LegacyIouCountsOneVideoPeakTwice) {
    // Audio 0.50 and 0.52 both fall in the window of video 0.50 at 25 fps.
    AvAlignIouOptions legacy;
    legacy.one_to_one = false;
    EXPECT_NEAR(av_align_iou({0.50, 0.52}, {0.50}, 25.0), 1.0 / 2.0, 1e-15);      // I=1: 1/(2+1−1)
    EXPECT_NEAR(av_align_iou({0.50, 0.52}, {0.50}, 25.0, legacy), 2.0 / 1.0, 1e-15);  // I=2: 2/(2+1−2)
}

TEST(AvAlignTest, BadVideoIsDataError) {
    test::expect_error([] { optical_flow_trajectory(torch::zeros({1, 8, 8, 3}, torch::kUInt8)); }, ErrorKind::Data,
                       "at least 2 frames");
    test::expect_error([] { optical_flow_trajectory(torch::zeros({4, 8, 8, 3})); }, ErrorKind::Data, "uint8");
    test::expect_error([] { optical_flow_trajectory(torch::zeros({4, 8, 8}, torch::kUInt8)); }, ErrorKind::Data,
                       "[T, H, W, 3]");
}

}  // namespace
}  // namespace v2a::metrics
