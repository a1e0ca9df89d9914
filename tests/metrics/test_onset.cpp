#include <gtest/gtest.h>

#include <cmath>

#include "metrics/fixtures.h"
#include "v2a/core/error.h"
#include "v2a/metrics/onset.h"

namespace v2a::metrics {
namespace {

// Same formula as make_onset_fixtures.py: decaying tone bursts (t0, freq, amp).
torch::Tensor burst_signal(double sr, double seconds, const nlohmann::json& bursts) {
    const auto n = static_cast<int64_t>(std::llround(sr * seconds));
    auto y = torch::zeros({n}, torch::kFloat64);
    auto acc = y.accessor<double, 1>();
    for (const auto& b : bursts) {
        const double t0 = b[0].get<double>(), f = b[1].get<double>(), a = b[2].get<double>();
        for (int64_t i = 0; i < n; ++i) {
            const double t = static_cast<double>(i) / sr;
            if (t >= t0) acc[i] += a * std::exp(-(t - t0) * 25.0) * std::sin(2 * M_PI * f * (t - t0));
        }
    }
    return y;
}

TEST(MelTest, SlaneyScaleValues) {
    const auto fx = test::load_fixture("onset_fixtures.json");
    for (const auto& [hz, mel] : fx.at("hz_to_mel").items()) {
        EXPECT_NEAR(hz_to_mel(std::stod(hz)), mel.get<double>(), 1e-12) << hz;
        EXPECT_NEAR(mel_to_hz(mel.get<double>()), std::stod(hz), 1e-9) << hz;
    }
    // Hand values: linear 3 mel per 200 Hz below 1 kHz; 1 kHz = 15 mel; 6.4x frequency = 27 mel.
    EXPECT_NEAR(hz_to_mel(200.0), 3.0, 1e-12);
    EXPECT_NEAR(hz_to_mel(6400.0), 15.0 + 27.0, 1e-12);
    EXPECT_NEAR(hz_to_mel(1000.0, /*htk=*/true), 2595.0 * std::log10(1.0 + 1000.0 / 700.0), 1e-12);
}

TEST(MelTest, FilterbankMatchesLibrosaFormula) {
    const auto fx = test::load_fixture("onset_fixtures.json");
    MelOptions small;
    small.sr = 8000;
    small.n_fft = 64;
    small.n_mels = 10;
    const auto w = mel_filterbank(small);
    const auto expected = test::matrix(fx.at("mel_small").at("weights"));
    ASSERT_EQ(w.sizes(), expected.sizes());
    EXPECT_LT((w - expected).abs().max().item<double>(), 1e-12);

    const auto full = mel_filterbank();  // librosa defaults at 22050 / 2048 / 128
    ASSERT_EQ(full.sizes(), torch::IntArrayRef({128, 1025}));
    for (const auto& [row, values] : fx.at("mel_default_rows").items()) {
        const auto r = std::stoll(row);
        const auto exp_row = torch::tensor(values.get<std::vector<double>>(), torch::kFloat64);
        EXPECT_LT((full[r] - exp_row).abs().max().item<double>(), 1e-12) << row;
    }
    EXPECT_NEAR(full.sum().item<double>(), fx.at("mel_default_sum").get<double>(), 1e-9);
}

TEST(PowerToDbTest, ClipsAtTopDbBelowMax) {
    const auto db = power_to_db(torch::tensor({1.0, 1e-3, 1e-12, 0.0}, torch::kFloat64));
    EXPECT_NEAR(db[0].item<double>(), 0.0, 1e-12);
    EXPECT_NEAR(db[1].item<double>(), -30.0, 1e-12);
    EXPECT_NEAR(db[2].item<double>(), -80.0, 1e-12);  // −120 clipped to max − 80
    EXPECT_NEAR(db[3].item<double>(), -80.0, 1e-12);  // amin floor, then clip
}

TEST(PeakPickTest, HandCheckedGreedyPicker) {
    const auto fx = test::load_fixture("onset_fixtures.json").at("peak_pick");
    const auto p = fx.at("params");
    PeakPickOptions o;
    o.pre_max = p[0];
    o.post_max = p[1];
    o.pre_avg = p[2];
    o.post_avg = p[3];
    o.delta = p[4];
    o.wait = p[5];
    // Frame 1 (0.5 >= mean 0.417 + 0.07), frame 4 (first of a plateau; 5 is skipped by wait),
    // frame 11; frames 8 and 9 are local maxima but under mean + delta.
    EXPECT_EQ(peak_pick(fx.at("x").get<std::vector<double>>(), o), (std::vector<int64_t>{1, 4, 11}));
    EXPECT_EQ(fx.at("peaks").get<std::vector<int64_t>>(), (std::vector<int64_t>{1, 4, 11}));
}

TEST(PeakPickTest, LibrosaOnsetDefaultsAt22050) {
    const auto d = PeakPickOptions::librosa_onset_defaults(22050, 512);
    EXPECT_EQ(d.pre_max, 1);
    EXPECT_EQ(d.post_max, 1);
    EXPECT_EQ(d.pre_avg, 4);
    EXPECT_EQ(d.post_avg, 5);
    EXPECT_EQ(d.wait, 1);
    EXPECT_EQ(d.delta, 0.07);
    const auto d48 = PeakPickOptions::librosa_onset_defaults(48000, 512);  // 1440/512 -> 2, 4800/512 -> 9
    EXPECT_EQ(d48.pre_max, 2);
    EXPECT_EQ(d48.pre_avg, 9);
    EXPECT_EQ(d48.post_avg, 10);
}

TEST(OnsetStrengthTest, MatchesNumpyTranscriptionOnBursts) {
    const auto fx = test::load_fixture("onset_fixtures.json").at("burst");
    const auto y = burst_signal(fx.at("sr").get<double>(), fx.at("seconds").get<double>(), fx.at("bursts"));
    const auto env = onset_strength(y);
    const auto expected = torch::tensor(fx.at("envelope").get<std::vector<double>>(), torch::kFloat64);
    ASSERT_EQ(env.sizes(), expected.sizes());
    EXPECT_EQ(env.size(0), 1 + y.size(0) / 512);
    // Centre padding: lag 1 + n_fft/(2·hop) 2 = 3 leading zeros.
    EXPECT_EQ(env.slice(0, 0, 3).abs().sum().item<double>(), 0.0);
    EXPECT_LT((env - expected).abs().max().item<double>(), 1e-9 * expected.abs().max().item<double>());
    EXPECT_EQ(onset_detect(env), fx.at("onset_frames").get<std::vector<int64_t>>());
    const auto times = onset_times(y);
    const auto exp_times = fx.at("onset_times").get<std::vector<double>>();
    ASSERT_EQ(times.size(), exp_times.size());
    for (size_t i = 0; i < times.size(); ++i) EXPECT_NEAR(times[i], exp_times[i], 1e-12);
    // And the onsets sit on the burst starts (within one hop + the analysis window offset).
    const double burst_t[] = {0.25, 0.62, 1.10, 1.45};
    for (size_t i = 0; i < times.size(); ++i) EXPECT_NEAR(times[i], burst_t[i], 2 * 512.0 / 22050.0);
}

TEST(OnsetDetectTest, FlatOrNonFiniteEnvelopeHasNoOnsets) {
    EXPECT_TRUE(onset_detect(torch::zeros({50}, torch::kFloat64)).empty());
    EXPECT_TRUE(onset_detect(torch::full({50}, 3.0, torch::kFloat64)).empty());
    auto bad = torch::rand({50}, torch::kFloat64);
    bad[7] = NAN;
    EXPECT_TRUE(onset_detect(bad).empty());
    EXPECT_TRUE(onset_times(torch::zeros({22050}, torch::kFloat64)).empty());  // silence
}

TEST(OnsetStrengthTest, BadAudioIsDataError) {
    test::expect_error([] { onset_strength(torch::zeros({2, 100})); }, ErrorKind::Data, "mono");
    test::expect_error([] { onset_strength(torch::zeros({0})); }, ErrorKind::Data, "empty");
    auto bad = torch::zeros({1000});
    bad[3] = INFINITY;
    test::expect_error([&] { onset_strength(bad); }, ErrorKind::Data, "NaN or Inf");
}

}  // namespace
}  // namespace v2a::metrics
