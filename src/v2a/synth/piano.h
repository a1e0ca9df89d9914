// The piano benchmark (`v2a synth --task piano`, issue 18): procedural performances with exact MIDI
// ground truth (pitch, onset, offset, velocity, sustain pedal), rendered to audio by FluidSynth's
// acoustic grand (GM program 0 of FluidR3_GM) and to video as a keyboard seen from above and from the
// front, with the pressed keys, two hands and the pedal visible — and the imperfections a camera
// adds: hands hiding keys, motion blur, uneven lighting, sensor noise, a slightly shaking camera.
// Two synthetic pianists play with distinct, measurable styles, so a style preference exists:
//   lyrical    : soft, a dynamic arc over the phrase, rubato (timing noise and a closing ritardando),
//                legato (each note held past the next onset), the sustain pedal down, re-pedalled per bar;
//   metronomic : loud and flat with accented beats, exact timing, staccato (half of each note's slot),
//                no pedal.
// Randomness is counter-based (rng.h): a clip is a function of (seed, split, index) only.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "v2a/synth/spec.h"

namespace v2a::synth {

constexpr int kPianoLowKey = 21;   // A0
constexpr int kPianoKeys = 88;     // A0 .. C8

struct PianoNote {
    int key = 60;              // MIDI key, 21..108
    double onset = 0.0;        // s, on the 64-sample grid FluidSynth renders (exact in the audio)
    double offset = 0.0;       // s, key release (the pedal may sustain the sound past it)
    int velocity = 80;         // 1..127
    bool left_hand = false;
};

struct PedalSpan {
    double down = 0.0, up = 0.0;  // s
};

struct PianistStyle {
    std::string name;
    double velocity_mean, velocity_spread;  // MIDI velocity
    double phrase_arc;                      // velocity added at the phrase's middle (a crescendo / decrescendo)
    double beat_accent;                     // velocity added on beats
    double timing_sd;                       // s, per-note onset noise
    double ritardando;                      // fraction the last beats slow down by
    double hold;                            // note duration / its slot (> 1 legato, < 1 staccato)
    bool pedal;                             // sustain pedal, re-pedalled at every bar
};
/// The two pianists, index 0 = lyrical, 1 = metronomic.
const std::vector<PianistStyle>& pianists();

struct PianoVideoOptions {
    int white_key_px = 4;   // frame width = 52 white keys x this + 2 x margin
    int margin = 4;
    int view_height = 48;   // per view; the frame stacks the top view over the front view
    bool hands = true;      // hands drawn over the keys (they hide some pressed keys)
    bool imperfections = true;  // motion blur, uneven lighting, sensor noise, camera shake
    int width() const { return 52 * white_key_px + 2 * margin; }
    int height() const { return 2 * view_height; }
};

struct PianoSpec {
    std::string id, split;
    uint64_t seed = 0;
    int pianist = 0;
    double tempo_bpm = 100.0;
    int tonic = 60;               // MIDI key of the piece's tonic
    bool minor = false;
    std::vector<PianoNote> notes; // sorted by onset
    std::vector<PedalSpan> pedal;
    double brightness = 1.0, light_tilt = 0.0;  // lighting of the scene
    std::string caption;
};

/// The performance of clip (split, index). Throws v2a::Error(Usage) on a bad config.
PianoSpec sample_piano_spec(const ClipConfig& config, uint64_t seed, const std::string& split, int64_t index);

/// The piano roll per video frame [T, 88] uint8: the note's velocity (or 1 with binary) where a key is held
/// down (onset <= t_k < offset, t_k = k / fps) — the key as seen, Audeo's convention; the pedal does not
/// extend it.
torch::Tensor piano_roll(const PianoSpec& spec, const ClipConfig& config, bool binary = false);

/// The audio: FluidSynth's acoustic grand, notes at their velocities, sustain pedal as CC 64; mono,
/// config.n_samples() long.
std::vector<float> render_piano_audio(const PianoSpec& spec, const ClipConfig& config);

/// The video [T, H, W, 3] uint8 RGB (H, W from options).
torch::Tensor render_piano_video(const PianoSpec& spec, const ClipConfig& config, const PianoVideoOptions& options = {});

nlohmann::json piano_spec_to_json(const PianoSpec& spec, const ClipConfig& config);

/// A piano roll back to notes (the Audeo-style pipeline's Roll -> MIDI step): each run of consecutive
/// frames in which a key is active (> 0) becomes one note from the run's first frame to the frame after
/// its last (t = k / fps); the velocity is the run's largest roll value when the roll holds velocities
/// (> 1), else `velocity`. Runs shorter than `min_frames` are dropped (spurious single-frame flicker).
/// roll: [T, 88] (key 0 = A0); notes sorted by onset.
std::vector<PianoNote> roll_to_notes(const torch::Tensor& roll, double fps, int velocity = 80, int min_frames = 1);

struct PianoDatasetOptions {
    std::filesystem::path out;
    int64_t n_train = 400, n_val = 50, n_test = 50;
    ClipConfig config;       // 4 s, 25 fps, 16 kHz (config.size is unused: the frame is options.video's)
    PianoVideoOptions video;
    uint64_t seed = 0;
    int workers = 0;         // <= 0: v2a::thread_count()
};

/// Writes clips/<id>.{wav,mp4,json,roll.safetensors} (the json last: it marks a clip complete, so a
/// re-run skips finished clips), manifest.csv (label = the pianist) and summary.json. Same options =>
/// identical files. Throws v2a::Error(Usage) naming a bad option.
nlohmann::json write_piano_dataset(const PianoDatasetOptions& options);

}  // namespace v2a::synth
