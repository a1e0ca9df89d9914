// The SIMULATED annotator: the ground-truth recording rates Good, silence / noise / shifted audio
// rate worse, label noise is seeded and exact at error rates 0 and 1, annotators differ by id.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "score/fixtures.h"
#include "support/expect_error.h"
#include "v2a/score/simulated_annotator.h"

namespace v2a::score {
namespace {

using v2a::test::expect_error;

std::vector<io::ClipItem> clips() {
    return {test::make_clip("c0", 0, {6, 22, 40}, "", 1), test::make_clip("c1", 1, {6, 22, 40}, "", 2),
            test::make_clip("c2", 2, {6, 22, 40}, "", 3), test::make_clip("c3", 0, {10, 28, 47}, "", 4)};
}

SimulatedAnnotatorOptions noiseless(const std::string& id = "sim0") {
    SimulatedAnnotatorOptions o;
    o.annotator = id;
    o.error_rate = 0.0;
    return o;
}

TEST(SimulatedAnnotatorTest, GroundTruthAudioRatesGood) {
    for (const char* id : {"sim0", "sim1", "sim2"}) {
        SimulatedAnnotator a(noiseless(id));
        for (const auto& c : clips()) {
            const auto r = a.rate(c.audio, c, c.id + "__gt");
            EXPECT_EQ(r.rating, Rating::Good) << id << " " << c.id << " " << r.to_json().dump();
            EXPECT_NEAR(r.observation.semantic, 1.0, 1e-9);
            if (r.observation.temporal_judged) {
                EXPECT_NEAR(r.observation.temporal, 1.0, 1e-9);
            }
        }
    }
}

TEST(SimulatedAnnotatorTest, SilenceNoiseAndShiftedAudioRateWorse) {
    SimulatedAnnotator a(noiseless());
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.f, 1.f);
    for (const auto& c : clips()) {
        const auto ref = a.reference(c);
        const auto gt = a.rate(a.observe(c.audio, ref), c.id);
        // silence: Bad, quality 0
        const auto silent = a.rate(a.observe(torch::zeros({test::kSamples}), ref), c.id);
        EXPECT_EQ(silent.rating, Rating::Bad);
        EXPECT_EQ(silent.quality, 0.0);
        // white noise at the clip's loudness
        std::vector<float> n(size_t(test::kSamples));
        for (auto& v : n) v = g(rng);
        auto noise = torch::tensor(n) * c.audio.pow(2).mean().sqrt();
        const auto nr = a.rate(a.observe(noise, ref), c.id);
        EXPECT_LT(nr.quality, gt.quality - 0.2) << c.id << " " << nr.to_json().dump();
        EXPECT_NE(nr.rating, Rating::Good) << c.id;
        // the ground truth 0.5 s late: same sound, wrong time
        auto shifted = torch::cat({torch::zeros({8000}), c.audio}).narrow(0, 0, test::kSamples);
        const auto sr = a.rate(a.observe(shifted, ref), c.id);
        EXPECT_LT(sr.observation.temporal, 0.5) << c.id << " " << sr.to_json().dump();
        EXPECT_GT(sr.observation.semantic, 0.8);
        EXPECT_LT(sr.quality, gt.quality - 0.2);
        EXPECT_NE(sr.rating, Rating::Good) << c.id;
        // a clip of another class at the right times scores lower on semantics
        const auto other = test::make_clip("x", (clips()[0].id == c.id ? 1 : 0), {6, 22, 40}, "", 9);
        if (other.label != c.label) {
            EXPECT_LT(a.observe(other.audio, ref).semantic, 0.9);
        }
    }
}

TEST(SimulatedAnnotatorTest, ErrorRateZeroIsDeterministicAndOneAlwaysDiffers) {
    const auto c = clips()[0];
    SimulatedAnnotator a(noiseless()), b(noiseless());
    const auto obs = a.observe(c.audio, a.reference(c));
    auto o1 = noiseless();
    o1.error_rate = 1.0;
    SimulatedAnnotator always(o1);
    std::set<int> seen;
    for (int k = 0; k < 60; ++k) {
        const std::string id = "c0__s" + std::to_string(k);
        const auto r = a.rate(obs, id);
        EXPECT_EQ(r.rating, r.noiseless);
        EXPECT_FALSE(r.flipped);
        EXPECT_EQ(b.rate(obs, id).rating, r.rating);
        const auto f = always.rate(obs, id);
        EXPECT_NE(f.rating, f.noiseless);
        EXPECT_TRUE(f.flipped);
        EXPECT_EQ(always.rate(obs, id).rating, f.rating);   // same sample, same draw
        seen.insert(int(f.rating));
    }
    EXPECT_EQ(seen.size(), 2u);   // both other labels occur
}

TEST(SimulatedAnnotatorTest, ErrorRateIsTheFlipFrequencyAndAnnotatorsDisagree) {
    const auto c = clips()[1];
    auto o = noiseless("sim0");
    o.error_rate = 0.3;
    SimulatedAnnotator a(o);
    o.annotator = "sim1";
    SimulatedAnnotator b(o);
    const auto obs = a.observe(c.audio, a.reference(c));
    int flips = 0, disagree = 0;
    const int n = 2000;
    for (int k = 0; k < n; ++k) {
        const std::string id = "s" + std::to_string(k);
        const auto ra = a.rate(obs, id);
        flips += ra.flipped;
        disagree += ra.rating != b.rate(obs, id).rating;
    }
    EXPECT_NEAR(double(flips) / n, 0.3, 0.04);
    EXPECT_GT(disagree, n / 5);   // independent label noise per annotator
    // tastes differ by id and seed, and are reproducible
    EXPECT_NE(a.preferred_loudness_db(), b.preferred_loudness_db());
    EXPECT_EQ(SimulatedAnnotator(o).preferred_centroid_hz(), b.preferred_centroid_hz());
    o.seed = 1;
    EXPECT_NE(SimulatedAnnotator(o).preferred_loudness_db(), b.preferred_loudness_db());
    o.taste_jitter = 0.0;
    EXPECT_EQ(SimulatedAnnotator(o).preferred_loudness_db(), o.preferred_loudness_db);
}

TEST(SimulatedAnnotatorTest, AestheticTastePrefersTheLoudnessItLikes) {
    auto o = noiseless();
    o.taste_jitter = 0.0;
    SimulatedAnnotator a(o);
    const auto c = clips()[0];
    const auto ref = a.reference(c);
    const double rms_db = 20 * std::log10(c.audio.pow(2).mean().sqrt().item<double>());
    const double gain_to_pref = std::pow(10.0, (o.preferred_loudness_db - rms_db) / 20.0);
    const auto liked = a.rate(a.observe(c.audio * gain_to_pref, ref), "x");
    const auto quiet = a.rate(a.observe(c.audio * gain_to_pref * 0.05, ref), "x");   // -26 dB from the taste
    EXPECT_NEAR(liked.observation.loudness_db, o.preferred_loudness_db, 0.01);
    EXPECT_GT(liked.aesthetic, quiet.aesthetic + 0.4);
    EXPECT_NEAR(liked.observation.semantic, quiet.observation.semantic, 0.05);   // spectral shape is level-free
}

TEST(SimulatedAnnotatorTest, ErrorsNameTheClipOrOption) {
    SimulatedAnnotator a(noiseless());
    auto c = clips()[0];
    c.truth_json.clear();
    expect_error([&] { a.reference(c); }, ErrorKind::Data, "clip c0 has no ground-truth JSON");
    c = clips()[0];
    c.audio = torch::Tensor();
    expect_error([&] { a.reference(c); }, ErrorKind::Data, "clip c0 has no ground-truth audio");
    auto o = noiseless();
    o.error_rate = 1.5;
    expect_error([&] { SimulatedAnnotator{o}; }, ErrorKind::Config, "error rate");
    o = noiseless();
    o.bad_threshold = 0.9;
    expect_error([&] { SimulatedAnnotator{o}; }, ErrorKind::Config, "bad threshold");
    o = noiseless();
    o.annotator = "";
    expect_error([&] { SimulatedAnnotator{o}; }, ErrorKind::Config, "annotator id");
    const auto ref = a.reference(clips()[0]);
    auto bad = torch::zeros({test::kSamples});
    bad[5] = NAN;
    expect_error([&] { a.observe(bad, ref); }, ErrorKind::Data, "NaN");
}

}  // namespace
}  // namespace v2a::score
