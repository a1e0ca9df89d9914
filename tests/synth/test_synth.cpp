// Tests of the procedural benchmark: the ground truth is what the renderers put in the audio and
// the frames (onsets and visual events on the GT frames), determinism under a seed, captions, the
// class table and argument validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/synth/classes.h"
#include "v2a/synth/clip.h"
#include "v2a/synth/rng.h"
#include "v2a/synth/scene.h"
#include "v2a/synth/sound_sources.h"

namespace v2a::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<int> all_ids() { return parse_class_list(""); }

/// A clip of one class alone (no distractor, no second source) with 3..5 events.
ClipSpec solo_spec(int class_id, uint64_t seed, int64_t index = 0, int size = 96) {
    ClipConfig cfg;
    cfg.size = size;
    SampleOptions opt;
    opt.p_distractor = opt.p_second = 0.0;
    opt.min_events = 3;
    opt.max_events = 5;
    opt.main_class = class_id;
    return sample_clip_spec(cfg, seed, "test", index, all_ids(), opt);
}

/// Log-magnitude spectral flux (Hann 128, hop 32 samples = 2 ms at 16 kHz); value m at the time of
/// the window centre. Returns {times (s), flux}.
std::pair<std::vector<double>, std::vector<double>> spectral_flux(const std::vector<float>& x, int sr) {
    const int n_fft = 128, hop = 32;
    auto t = torch::from_blob(const_cast<float*>(x.data()), {int64_t(x.size())}, torch::kFloat).clone();
    auto spec = torch::stft(t, n_fft, hop, n_fft, torch::hann_window(n_fft), /*normalized=*/false,
                            /*onesided=*/true, /*return_complex=*/true)
                    .abs();   // [F, M]
    auto logm = torch::log1p(1000.0 * spec);
    auto diff = (logm.slice(1, 1) - logm.slice(1, 0, -1)).clamp_min(0).sum(0);   // [M-1]
    std::vector<double> times, flux;
    for (int64_t m = 0; m < diff.size(0); ++m) {
        times.push_back(double((m + 1) * hop + n_fft / 2) / sr);
        flux.push_back(diff[m].item<double>());
    }
    return {times, flux};
}

/// Local maxima of the flux above `rel` x its maximum, as times (s).
std::vector<double> onsets(const std::vector<double>& times, const std::vector<double>& flux, double rel) {
    const double top = *std::max_element(flux.begin(), flux.end());
    std::vector<double> out;
    for (size_t m = 1; m + 1 < flux.size(); ++m)
        if (flux[m] >= rel * top && flux[m] >= flux[m - 1] && flux[m] > flux[m + 1]) out.push_back(times[m]);
    return out;
}

TEST(ClassesTest, AtLeastTenDistinctClassesAndListParsing) {
    const auto& classes = all_classes();
    ASSERT_GE(classes.size(), 10u);
    EXPECT_EQ(parse_class_list("").size(), classes.size());
    EXPECT_EQ(parse_class_list("speech,piano"), (std::vector<int>{class_index("speech"), class_index("piano")}));
    for (const char* bad : {"piano,violin", "piano,piano", "piano,,drums"}) {
        try {
            parse_class_list(bad);
            FAIL() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Usage);
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        }
    }
}

TEST(RngTest, ClipSeedDependsOnSeedSplitAndIndexOnly) {
    EXPECT_EQ(clip_seed(0, "train", 5), clip_seed(0, "train", 5));
    EXPECT_NE(clip_seed(0, "train", 5), clip_seed(0, "train", 6));
    EXPECT_NE(clip_seed(0, "train", 5), clip_seed(0, "val", 5));
    EXPECT_NE(clip_seed(0, "train", 5), clip_seed(1, "train", 5));
    Rng a(7), b(7);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next(), b.next());
    Rng r(3);
    double mean = 0;
    for (int i = 0; i < 10000; ++i) {
        const double u = r.uniform();
        ASSERT_TRUE(u >= 0 && u < 1);
        mean += u / 10000;
        const int k = r.randint(2, 4);
        ASSERT_TRUE(k >= 2 && k <= 4);
    }
    EXPECT_NEAR(mean, 0.5, 0.02);
}

TEST(SpecTest, EventsLieOnTheFrameGridWithMinimumGap) {
    ClipConfig cfg;
    for (int64_t i = 0; i < 60; ++i) {
        const ClipSpec spec = sample_clip_spec(cfg, 0, "train", i, all_ids());
        EXPECT_EQ(spec.id, clip_id("train", i));
        for (const SourceSpec& s : spec.sources) {
            ASSERT_GE(s.events.size(), 1u);
            ASSERT_LE(s.events.size(), 6u);
            const double gap = all_classes()[size_t(s.class_id)].min_gap;
            for (size_t k = 0; k < s.events.size(); ++k) {
                const Event& e = s.events[k];
                EXPECT_DOUBLE_EQ(e.time, e.frame / 25.0);
                EXPECT_EQ(e.sample, int64_t(e.frame) * 640);   // 16000 / 25 samples per frame
                EXPECT_GE(e.frame, 10);
                EXPECT_LT(e.frame, cfg.n_frames());
                if (k > 0) {
                    EXPECT_GE(e.time - s.events[k - 1].time, gap - 1e-9);
                }
            }
        }
        EXPECT_EQ(spec.main().class_id, int(i % int64_t(all_classes().size())));   // balanced
    }
}

TEST(SpecTest, SameSeedSameSpecOtherSeedOtherSpec) {
    ClipConfig cfg;
    const auto a = spec_to_json(sample_clip_spec(cfg, 1, "val", 3, all_ids()));
    const auto b = spec_to_json(sample_clip_spec(cfg, 1, "val", 3, all_ids()));
    const auto c = spec_to_json(sample_clip_spec(cfg, 2, "val", 3, all_ids()));
    EXPECT_EQ(a.dump(), b.dump());
    EXPECT_NE(a.dump(), c.dump());
}

TEST(SpecTest, DistractorAndSecondSourceRatesAndRoles) {
    ClipConfig cfg;
    int distractor = 0, second = 0, empty = 0;
    const int n = 600;
    for (int64_t i = 0; i < n; ++i) {
        const ClipSpec spec = sample_clip_spec(cfg, 0, "train", i, all_ids());
        ASSERT_LE(spec.sources.size(), 2u);
        if (spec.sources.size() == 2) {
            const SourceSpec& x = spec.sources[1];
            EXPECT_NE(x.class_id, spec.main().class_id);
            if (x.role == Role::Distractor) {
                ++distractor;
                EXPECT_FALSE(x.sounding);
            } else {
                ++second;
                EXPECT_TRUE(x.sounding);
            }
        }
        if (spec.caption.empty()) ++empty;
    }
    EXPECT_NEAR(distractor / double(n), 0.20, 0.05);
    EXPECT_NEAR(second / double(n), 0.15, 0.05);
    EXPECT_NEAR(empty / double(n), 0.20, 0.05);
}

TEST(CaptionTest, TemplatesCountEventsAndNameTheSecondSource) {
    ClipSpec spec = solo_spec(class_index("piano"), 0);
    spec.sources[0].events.resize(3);
    EXPECT_EQ(make_caption(spec, 0.0, 0.0), "a piano plays three notes");
    spec.sources[0].events.resize(1);
    EXPECT_EQ(make_caption(spec, 0.0, 0.0), "a piano plays one note");
    SourceSpec voice = solo_spec(class_index("speech"), 0).sources[0];
    voice.role = Role::Second;
    voice.female = true;
    spec.sources.push_back(voice);
    EXPECT_EQ(make_caption(spec, 0.0, 0.0), "a piano plays one note and a woman speaks");
    // Every template of every class fills all its placeholders.
    for (int c = 0; c < int(all_classes().size()); ++c) {
        ClipSpec s = solo_spec(c, 0);
        for (double u = 0; u < 1; u += 0.2) {
            const std::string text = make_caption(s, u, 0);
            EXPECT_EQ(text.find('{'), std::string::npos) << text;
            EXPECT_FALSE(text.empty());
        }
    }
}

TEST(AudioTest, ResamplerKeepsASineAndTrimFindsTheStart) {
    std::vector<float> x(44100);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(0.5 * std::sin(2 * kPi * 1000.0 * double(i) / 44100));
    const auto y = resample_linear_phase(x, 44100, 16000);
    ASSERT_EQ(y.size(), 16000u);
    double err = 0;
    for (size_t i = 200; i + 200 < y.size(); ++i)
        err = std::max(err, std::abs(y[i] - 0.5 * std::sin(2 * kPi * 1000.0 * double(i) / 16000)));
    EXPECT_LT(err, 0.01);
    std::vector<float> z(100, 0.0f);
    z.insert(z.end(), {0.001f, 0.5f, -1.0f, 0.2f});
    const auto t = trim_leading_silence(z, 0.03f);
    ASSERT_EQ(t.size(), 3u);
    EXPECT_FLOAT_EQ(t[0], 0.5f);
}

TEST(AudioTest, MissingSampleFileIsNamed) {
    try {
        load_sample("no-such-sound.oga", 16000);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::IO);
        EXPECT_NE(std::string(e.what()).find("no-such-sound.oga"), std::string::npos);
    }
}

TEST(RenderTest, DeterministicWhateverWasRenderedBefore) {
    ClipSpec a = solo_spec(class_index("piano"), 11);
    {   // a speaking second source too: speech must not depend on what was spoken before
        ClipSpec voice = solo_spec(class_index("speech"), 14);
        voice.sources[0].role = Role::Second;
        a.sources.push_back(voice.sources[0]);
    }
    const ClipSpec b = solo_spec(class_index("speech"), 12);
    ClipSpec odd = solo_spec(class_index("drums"), 13);
    odd.config.seconds = 1.013;   // a length that is not a multiple of FluidSynth's 64-sample block
    for (auto& e : odd.sources[0].events) e.frame = std::min(e.frame, 20), e.sample = odd.config.frame_to_sample(e.frame);
    const RenderedClip first = render_clip(a);
    render_clip(odd);
    render_clip(b);
    const RenderedClip again = render_clip(a);
    ASSERT_EQ(first.audio.size(), again.audio.size());
    size_t first_diff = first.audio.size();
    double max_diff = 0;
    for (size_t i = 0; i < first.audio.size(); ++i) {
        if (first.audio[i] != again.audio[i] && first_diff == first.audio.size()) first_diff = i;
        max_diff = std::max(max_diff, double(std::abs(first.audio[i] - again.audio[i])));
    }
    EXPECT_EQ(first_diff, first.audio.size()) << "max difference " << max_diff;
    EXPECT_TRUE(torch::equal(first.frames, again.frames));
    ClipSpec other_spec = a;
    other_spec.sources[1] = solo_spec(class_index("speech"), 15).sources[0];   // other words / voice
    other_spec.sources[1].role = Role::Second;
    EXPECT_NE(render_clip(other_spec).audio, first.audio);
    const RenderedClip other = render_clip(solo_spec(class_index("piano"), 99));
    EXPECT_NE(first.audio, other.audio);
    EXPECT_FALSE(torch::equal(first.frames, other.frames));
    // shapes and level
    EXPECT_EQ(first.frames.sizes(), (std::vector<int64_t>{100, 96, 96, 3}));
    EXPECT_EQ(first.audio.size(), 64000u);
    float peak = 0;
    for (float v : first.audio) peak = std::max(peak, std::abs(v));
    EXPECT_LE(peak, 0.95f + 1e-6f);
    EXPECT_GT(peak, 0.05f);
}

class PerClass : public ::testing::TestWithParam<int> {};

TEST_P(PerClass, AudioOnsetsMatchGroundTruthEvents) {
    const int c = GetParam();
    const ClassInfo& info = all_classes()[size_t(c)];
    for (uint64_t seed : {1u, 2u}) {
        const RenderedClip clip = render_clip(solo_spec(c, seed));
        const auto [times, flux] = spectral_flux(clip.audio, 16000);
        const auto found = onsets(times, flux, 0.15);
        for (const Event& e : clip.spec.main().events) {
            double best = 1e9;
            for (double t : found) best = std::min(best, std::abs(t - e.time));
            EXPECT_LE(best, 0.020) << info.name << " seed " << seed << ": no onset near GT event at " << e.time << " s";
        }
        if (!info.impulsive) continue;
        // No strong onset away from the events.
        for (double t : onsets(times, flux, 0.5)) {
            double best = 1e9;
            for (const Event& e : clip.spec.main().events) best = std::min(best, std::abs(t - e.time));
            EXPECT_LE(best, 0.06) << info.name << " seed " << seed << ": strong onset at " << t << " s, far from events";
        }
    }
}

TEST_P(PerClass, VisualChangePeaksOnEventFrames) {
    const int c = GetParam();
    const ClassInfo& info = all_classes()[size_t(c)];
    for (uint64_t seed : {1u, 2u}) {
        const RenderedClip clip = render_clip(solo_spec(c, seed));
        auto f = clip.frames.to(torch::kFloat);
        auto d = (f.slice(0, 1) - f.slice(0, 0, -1)).abs().mean({1, 2, 3});   // d[k-1] = change into frame k
        std::vector<double> diff(size_t(f.size(0)), 0.0);
        for (int64_t k = 1; k < f.size(0); ++k) diff[size_t(k)] = d[k - 1].item<double>();
        std::vector<double> sorted(diff.begin() + 1, diff.end());
        std::sort(sorted.begin(), sorted.end());
        const double median = sorted[sorted.size() / 2];
        for (const Event& e : clip.spec.main().events) {
            const int k = e.frame;
            for (int j = std::max(1, k - 2); j <= std::min(int(diff.size()) - 1, k + 2); ++j)
                if (j != k) {
                    EXPECT_GT(diff[size_t(k)], diff[size_t(j)]) << info.name << " seed " << seed << " event frame " << k << " vs " << j;
                }
            EXPECT_GT(diff[size_t(k)], 2.0 * median + 0.05) << info.name << " seed " << seed << " frame " << k;
        }
    }
}

TEST_P(PerClass, RendersAtOtherSizesAndRates) {
    ClipSpec spec = solo_spec(GetParam(), 5, 0, 40);
    spec.config.seconds = 2.0;
    spec.config.sample_rate = 22050;
    spec.sources[0].events.resize(1);
    spec.sources[0].events[0].sample = spec.config.frame_to_sample(spec.sources[0].events[0].frame);
    const RenderedClip clip = render_clip(spec);
    EXPECT_EQ(clip.frames.sizes(), (std::vector<int64_t>{50, 40, 40, 3}));
    EXPECT_EQ(clip.audio.size(), 44100u);
}

INSTANTIATE_TEST_SUITE_P(Synth, PerClass, ::testing::Range(0, int(all_classes().size())),
                         [](const ::testing::TestParamInfo<int>& p) { return all_classes()[size_t(p.param)].name; });

}  // namespace
}  // namespace v2a::synth
