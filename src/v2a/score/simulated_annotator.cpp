#include "v2a/score/simulated_annotator.h"

#include <cmath>

#include "v2a/core/error.h"
#include "v2a/judge/clip_measures.h"
#include "v2a/judge/interfaces.h"
#include "v2a/metrics/events.h"
#include "v2a/metrics/onset.h"

namespace v2a::score {

namespace {

// SplitMix64 and FNV-1a spelled out (no std:: distributions), so a rating is the same on every
// platform and standard library.
uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

double uniform01(uint64_t& state) { return double(splitmix64(state) >> 11) * 0x1.0p-53; }

uint64_t stream(uint64_t seed, const std::string& annotator, const std::string& what) {
    uint64_t s = seed;
    return fnv1a(what, fnv1a(annotator)) ^ splitmix64(s);
}

// Spectral shape: mean over time of the log-mel (dB) spectrum, minus its mean over bands, so it
// says which bands sound, not how loud the clip is. [64] float64.
torch::Tensor spectral_shape(const torch::Tensor& audio16k) {
    metrics::OnsetStrengthOptions o;
    o.sr = judge::kJudgeSampleRate;
    o.n_fft = 1024;
    o.hop_length = 256;
    o.n_mels = 64;
    auto m = metrics::log_mel_spectrogram(audio16k.to(torch::kDouble), o).mean(1);
    return m - m.mean();
}

double loudness_db(const torch::Tensor& x) {
    const double rms = std::sqrt(x.to(torch::kDouble).pow(2).mean().item<double>());
    return 20.0 * std::log10(std::max(rms, 1e-10));
}

// Power-weighted mean frequency of the whole clip (Hz); 0 for silence.
double spectral_centroid(const torch::Tensor& x) {
    const int64_t n_fft = 1024;
    auto window = torch::hann_window(n_fft, true, torch::kDouble);
    auto spec = torch::stft(x.to(torch::kDouble), n_fft, 256, n_fft, window, true, "constant", false, true, true);
    auto power = spec.abs().pow(2).sum(1);   // [1 + n_fft / 2]
    const double total = power.sum().item<double>();
    if (total <= 1e-20) return 0.0;
    auto freqs = torch::arange(power.size(0), torch::kDouble) * (double(judge::kJudgeSampleRate) / double(n_fft));
    return (freqs * power).sum().item<double>() / total;
}

double gaussian(double d, double width) { return std::exp(-0.5 * (d / width) * (d / width)); }

}  // namespace

void SimulatedAnnotatorOptions::validate() const {
    V2A_CHECK(!annotator.empty(), Config, "simulated annotator: empty annotator id");
    V2A_CHECK(error_rate >= 0.0 && error_rate <= 1.0, Config, "simulated annotator: error rate ", error_rate,
              " is not in [0, 1]");
    V2A_CHECK(onset_window > 0.0, Config, "simulated annotator: onset window must be > 0");
    V2A_CHECK(loudness_tolerance_db > 0.0 && centroid_tolerance_octaves > 0.0 && preferred_centroid_hz > 0.0, Config,
              "simulated annotator: taste tolerances and the preferred centroid must be > 0");
    V2A_CHECK(temporal_weight >= 0.0 && semantic_weight >= 0.0 && aesthetic_weight >= 0.0 &&
                  semantic_weight + aesthetic_weight > 0.0,
              Config, "simulated annotator: weights must be >= 0 and semantic + aesthetic > 0");
    V2A_CHECK(bad_threshold < good_threshold, Config, "simulated annotator: bad threshold ", bad_threshold,
              " must be below the good threshold ", good_threshold);
    V2A_CHECK(taste_jitter >= 0.0, Config, "simulated annotator: taste jitter must be >= 0");
}

SimulatedAnnotator::SimulatedAnnotator(SimulatedAnnotatorOptions options) : options_(std::move(options)) {
    options_.validate();
    uint64_t s = stream(options_.seed, options_.annotator, "taste");
    auto u = [&] { return 2.0 * uniform01(s) - 1.0; };   // [-1, 1)
    const double j = options_.taste_jitter;
    loudness_db_ = options_.preferred_loudness_db + 3.0 * j * u();
    centroid_hz_ = options_.preferred_centroid_hz * std::exp2(0.5 * j * u());
    good_ = options_.good_threshold + 0.03 * j * u();
    bad_ = std::min(options_.bad_threshold + 0.03 * j * u(), good_ - 1e-3);
}

TruthReference SimulatedAnnotator::reference(const io::ClipItem& item) const {
    V2A_CHECK(item.audio.defined() && item.audio.dim() == 1 && item.audio.numel() > 0, Data,
              "simulated annotator: clip ", item.id, " has no ground-truth audio loaded");
    const auto truth = judge::parse_clip_truth(item);
    V2A_CHECK(truth.present, Data, "simulated annotator: clip ", item.id,
              " has no ground-truth JSON (", item.video.string(), "): it rates benchmark clips only");
    TruthReference r;
    r.clip_id = item.id;
    r.events = truth.events;
    r.onsets = judge::clip_onsets(judge::resample_16k_to_22k(item.audio));
    r.onset_f1 = metrics::onset_f1(r.events, r.onsets, {options_.onset_window}).f1;
    r.spectrum = spectral_shape(item.audio);
    r.samples = item.audio.size(0);
    return r;
}

ClipObservation SimulatedAnnotator::observe(const torch::Tensor& generated, const TruthReference& ref) const {
    V2A_CHECK(generated.defined() && generated.dim() == 1 && generated.numel() > 0, Usage,
              "simulated annotator: generated audio for clip ", ref.clip_id, " must be [S]");
    const auto x = judge::crop_or_pad(generated.to(torch::kFloat), ref.samples);
    V2A_CHECK(torch::isfinite(x).all().item<bool>(), Data, "simulated annotator: generated audio for clip ",
              ref.clip_id, " has NaN or Inf samples");
    ClipObservation o;
    const auto onsets = judge::clip_onsets(judge::resample_16k_to_22k(x));
    const metrics::OnsetF1Options w{options_.onset_window};
    o.onset_f1 = metrics::onset_f1(ref.events, onsets, w).f1;
    if (ref.onset_f1 >= options_.reference_f1_floor) {
        o.temporal = std::min(1.0, o.onset_f1 / ref.onset_f1);
    } else if (!ref.onsets.empty()) {
        o.temporal = metrics::onset_f1(ref.onsets, onsets, w).f1;
    } else {
        o.temporal_judged = false;
    }
    const auto shape = spectral_shape(x);
    const double norms = shape.norm().item<double>() * ref.spectrum.norm().item<double>();
    o.semantic = norms > 1e-12 ? std::max(0.0, shape.dot(ref.spectrum).item<double>() / norms) : 0.0;
    o.loudness_db = loudness_db(x);
    o.centroid_hz = spectral_centroid(x);
    return o;
}

SimulatedRating SimulatedAnnotator::rate(const ClipObservation& o, const std::string& sample_id) const {
    SimulatedRating r;
    r.observation = o;
    const auto& p = options_;
    const double loud = gaussian(o.loudness_db - loudness_db_, p.loudness_tolerance_db);
    const double bright = o.centroid_hz > 0 ? gaussian(std::log2(o.centroid_hz / centroid_hz_), p.centroid_tolerance_octaves) : 0.0;
    r.aesthetic = 0.5 * (loud + bright);
    const double wt = o.temporal_judged ? p.temporal_weight : 0.0;
    r.quality = (wt * o.temporal + p.semantic_weight * o.semantic + p.aesthetic_weight * r.aesthetic) /
                (wt + p.semantic_weight + p.aesthetic_weight);
    if (o.loudness_db < p.silence_db) r.quality = 0.0;
    r.noiseless = r.quality >= good_ ? Rating::Good : r.quality < bad_ ? Rating::Bad : Rating::Medium;
    r.rating = r.noiseless;
    uint64_t s = stream(p.seed, p.annotator, "error:" + sample_id);
    if (uniform01(s) < p.error_rate) {
        r.rating = Rating((int(r.noiseless) + 1 + int(splitmix64(s) & 1)) % kNumRatings);
        r.flipped = true;
    }
    return r;
}

SimulatedRating SimulatedAnnotator::rate(const torch::Tensor& generated, const io::ClipItem& item,
                                         const std::string& sample_id) const {
    return rate(observe(generated, reference(item)), sample_id);
}

nlohmann::json SimulatedRating::to_json() const {
    return {{"rating", rating_name(rating)},
            {"noiseless", rating_name(noiseless)},
            {"flipped", flipped},
            {"quality", quality},
            {"temporal", observation.temporal},
            {"temporal_judged", observation.temporal_judged},
            {"semantic", observation.semantic},
            {"aesthetic", aesthetic},
            {"onset_f1", observation.onset_f1},
            {"loudness_db", observation.loudness_db},
            {"centroid_hz", observation.centroid_hz}};
}

}  // namespace v2a::score
