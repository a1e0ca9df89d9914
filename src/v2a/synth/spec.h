// The ground truth of one benchmark clip: what is sampled (by clip.cpp) before anything is rendered.
// Audio and video renderers are pure functions of this spec, so the spec is the whole ground truth.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace v2a::synth {

struct ClipConfig {
    double seconds = 4.0;     // clip length (s), 1..10
    double fps = 25.0;        // video frame rate; events lie on the grid k / fps
    int size = 96;            // frames are size x size RGB
    int sample_rate = 16000;  // audio rate (Hz)

    int n_frames() const { return int(std::lround(seconds * fps)); }
    int64_t n_samples() const { return std::llround(seconds * sample_rate); }
    /// The audio sample of video frame k: round(k / fps * sample_rate).
    int64_t frame_to_sample(int frame) const { return std::llround(frame / fps * sample_rate); }
};

/// One visible + audible event (a strike, a pluck, a word, a splash, a rev).
struct Event {
    int frame = 0;            // video frame of the visible event (contact, strike, flash, mouth opening)
    double time = 0.0;        // frame / fps (s)
    int64_t sample = 0;       // audio onset sample (= frame_to_sample(frame)); the sound starts here exactly
    double duration = 0.0;    // sound length (s): note held, word length, sample length, splash/rev decay
    int key = -1;             // Midi: MIDI key
    int velocity = 100;       // Midi: 1..127
    std::string word;         // Speech: the word spoken
    std::string sample_file;  // Sample: file name under the freedesktop sound directory
    double strength = 1.0;    // Water/Engine: relative splash size / rev depth
};

enum class Role { Main, Second, Distractor };
const char* role_name(Role role);

/// One object in the scene: a sound source (sounding) or a silent visual distractor.
struct SourceSpec {
    Role role = Role::Main;
    int class_id = 0;
    bool sounding = true;     // false: moves on screen but is not in the audio (distractor)
    std::vector<Event> events;
    // sound details
    int program = -1, bank = 0;        // Midi (bank 128 = GM drum kit)
    std::string voice;                 // Speech: espeak-ng voice name, e.g. "en-us+f3"
    bool female = false;               // Speech: caption "a woman" / "a man"
    int pitch = 50, rate = 170;        // Speech: espeak pitch (0-100) and words per minute
    double base_rpm = 900.0;           // Engine: idle rpm
    double bed_level = 0.3;            // Water/Engine: level of the continuous bed relative to events
    double gain = 1.0;                 // mix gain relative to the main source
    // visual details (fractions of the frame size)
    float cx = 0.5f, cy = 0.5f;        // object centre
    float scale = 0.38f;               // half-size of the object's box
    int palette = 0;                   // colour variant
    uint64_t seed = 0;                 // per-source noise (procedural audio, textures)
};

struct Background {
    int kind = 0;                       // 0 flat, 1 gradient, 2 checker, 3 noise texture, 4 stripes
    std::array<uint8_t, 3> c1{}, c2{};  // RGB
    int period = 16;                    // checker / stripe period in pixels at size 96
    uint64_t seed = 0;
};

struct ClipSpec {
    std::string id;            // e.g. "train_00042"
    std::string split;         // train / val / test
    int64_t index = 0;
    uint64_t dataset_seed = 0;
    uint64_t seed = 0;         // clip_seed(dataset_seed, split, index)
    ClipConfig config;
    Background background;
    std::vector<SourceSpec> sources;   // sources[0] is the main (labelled) source
    std::string caption;       // may be empty (~20%)
    double loudness_db = -20.0;        // target RMS of the mix (dBFS), before the peak cap

    const SourceSpec& main() const { return sources.front(); }
};

}  // namespace v2a::synth
