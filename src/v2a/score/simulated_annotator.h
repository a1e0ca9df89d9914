// The SIMULATED annotator: a stand-in for the human raters of V2A-DPO (the paper's 2K ratings, 5
// samples for each of a set of videos) on the procedural benchmark. It is NOT a person and its labels
// are never mixed up with real ones: the annotator id is "sim..." by default and the CLI prints
// "SIMULATED". It rates a generated clip Good / Medium / Bad with knowledge the judges do not have:
//
//   temporal  onset F1 (+-100 ms, eval's onsets) of the generated audio against the clip's TRUE event
//             times (sounding sources only), relative to the F1 the real recording reaches:
//             min(1, F1_gen / F1_truth_audio) when F1_truth_audio >= reference_f1_floor; otherwise (the
//             events are not onsets of the real audio, e.g. continuous beds) the F1 of the generated
//             onsets against the real recording's onsets; not judged when the real audio has none.
//   semantic  cosine of the generated and the real recording's mean log-mel (dB) spectra, each with
//             its mean over bands removed (the spectral shape: which source sounds), clamped at 0.
//   aesthetic a taste AudioScore cannot see: Gaussian preference for an RMS loudness (dBFS) and for a
//             spectral centroid (brightness, in octaves), each with a tolerance; both averaged.
//
//   quality = (w_t T + w_s S + w_a A) / (w_t + w_s + w_a)   (w_t dropped when T is not judged)
//   Good if quality >= good_threshold, Bad if quality < bad_threshold or the clip is silent, else
//   Medium. With probability error_rate the label is then replaced by one of the two other labels.
//
// Deterministic: the taste (a jitter of the preferred loudness, brightness and thresholds) depends
// only on (seed, annotator id), the label noise only on (seed, annotator id, sample id), so several
// simulated annotators (sim0, sim1, ...) disagree reproducibly and in any order of rating.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"
#include "v2a/score/labels.h"

namespace v2a::score {

struct SimulatedAnnotatorOptions {
    std::string annotator = "sim0";          // id: seeds the taste jitter and the label noise
    uint64_t seed = 0;
    double error_rate = 0.1;                 // P(label replaced by a random other label)
    double onset_window = 0.1;               // seconds (the temporal match tolerance)
    double reference_f1_floor = 0.3;         // below this the events are not onsets of the real audio
    double preferred_loudness_db = -21.0;    // RMS dBFS; the benchmark mixes at -26..-16
    double loudness_tolerance_db = 6.0;      // Gaussian width of the loudness taste
    double preferred_centroid_hz = 1200.0;   // spectral centroid the annotator likes
    double centroid_tolerance_octaves = 1.5; // Gaussian width of the brightness taste
    double taste_jitter = 1.0;               // per-annotator jitter scale: +-3 dB, +-0.5 octave, +-0.03 thresholds
    // Timing weighs most and Good needs quality >= 0.8, so the right sound at the wrong time (a 0.6 s
    // shift) or under noise is Medium, a wrong sound Bad (measured: docs/AUDIOSCORE.md).
    double temporal_weight = 0.5, semantic_weight = 0.35, aesthetic_weight = 0.15;
    double good_threshold = 0.8, bad_threshold = 0.45;
    double silence_db = -60.0;               // RMS below this is silence: Bad
    /// Throws v2a::Error(Config) naming the bad option.
    void validate() const;
};

/// What the annotator knows of one benchmark clip: the true event times and the real recording.
struct TruthReference {
    std::string clip_id;
    std::vector<double> events;          // sounding event times (s)
    std::vector<double> onsets;          // onsets of the real recording (s)
    double onset_f1 = 0.0;               // real recording's onsets vs the events
    torch::Tensor spectrum;              // [bands] float64: mean log-mel shape of the real recording
    int64_t samples = 0;                 // the generated audio is cropped / padded to this
};

/// Taste-free measurements of one generated clip against its reference.
struct ClipObservation {
    double onset_f1 = 0.0;               // generated onsets vs the events
    double temporal = 0.0;               // T in [0, 1]
    bool temporal_judged = true;
    double semantic = 0.0;               // S in [0, 1]
    double loudness_db = -200.0;         // RMS dBFS
    double centroid_hz = 0.0;
};

struct SimulatedRating {
    Rating rating = Rating::Medium;      // after label noise
    Rating noiseless = Rating::Medium;   // before
    bool flipped = false;
    double quality = 0.0, aesthetic = 0.0;
    ClipObservation observation;
    nlohmann::json to_json() const;
};

class SimulatedAnnotator {
public:
    explicit SimulatedAnnotator(SimulatedAnnotatorOptions options = {});

    /// The clip's reference: needs item.audio (16 kHz) and item.truth_json (v2a::Error(Data) naming the
    /// clip otherwise).
    TruthReference reference(const io::ClipItem& item) const;
    /// generated [S] 16 kHz mono.
    ClipObservation observe(const torch::Tensor& generated, const TruthReference& reference) const;
    SimulatedRating rate(const ClipObservation& observation, const std::string& sample_id) const;
    SimulatedRating rate(const torch::Tensor& generated, const io::ClipItem& item, const std::string& sample_id) const;

    const SimulatedAnnotatorOptions& options() const { return options_; }
    /// This annotator's taste after the jitter.
    double preferred_loudness_db() const { return loudness_db_; }
    double preferred_centroid_hz() const { return centroid_hz_; }
    double good_threshold() const { return good_; }
    double bad_threshold() const { return bad_; }

private:
    SimulatedAnnotatorOptions options_;
    double loudness_db_ = 0.0, centroid_hz_ = 0.0, good_ = 0.0, bad_ = 0.0;
};

}  // namespace v2a::score
