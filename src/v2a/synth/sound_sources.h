// Audio renderers of the benchmark's sound sources. Every renderer returns mono float audio of
// exactly config.n_samples() samples at config.sample_rate, with each event's sound starting at
// event.sample. Real sources: General MIDI instruments (libfluidsynth + FluidR3_GM, one synth per
// worker thread), espeak-ng speech (a fresh espeak-ng process per word, see the .cpp), freedesktop sound
// samples (libsndfile). Procedural sources: water and engine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "v2a/synth/spec.h"

namespace v2a::synth {

struct SourceAudio {
    std::vector<float> samples;          // [n_samples] mono
    std::vector<double> event_durations; // seconds of sound per event (word / sample length, ...)
};

/// Renders one source (sounding or not: a distractor's audio drives its mouth/visuals only).
SourceAudio render_source_audio(const SourceSpec& source, const ClipConfig& config);

/// One MIDI command at an audio sample: note on/off (number = key, value = velocity) or a control
/// change (number = controller, e.g. 64 = sustain pedal; value 0..127).
struct MidiCommand {
    int64_t sample = 0;
    enum Kind { NoteOff = 0, Control = 1, NoteOn = 2 } kind = NoteOn;  // order at one sample: offs, controls, ons
    int number = 60;
    int value = 100;
};

/// Renders commands on one channel with the General MIDI preset (bank, program) of the default SoundFont
/// (FluidR3_GM via libfluidsynth; percussion on channel 10): mono, exactly config.n_samples() long.
std::vector<float> render_midi_commands(std::vector<MidiCommand> commands, int bank, int program, bool percussion,
                                        const ClipConfig& config);

/// Windowed-sinc resampling of mono audio (band-limited to the lower Nyquist).
std::vector<float> resample_linear_phase(const std::vector<float>& in, int in_rate, int out_rate);

/// Drops leading samples quieter than `rel_threshold` x peak, so a sample's sound starts at index 0.
std::vector<float> trim_leading_silence(const std::vector<float>& x, float rel_threshold = 0.03f);

/// A freedesktop sample decoded (libsndfile), mixed to mono, resampled to `rate` and trimmed;
/// cached per (file, rate). Throws v2a::Error(IO) naming the file if it cannot be read.
const std::vector<float>& load_sample(const std::string& file_name, int rate);

/// espeak-ng speech of one word at `rate` Hz, leading/trailing silence trimmed.
std::vector<float> speak_word(const std::string& word, const std::string& voice, int pitch, int wpm, int rate);

/// Engine rev envelope in [0, 1] at time t (s): fast rise at each event, exponential fall.
/// Shared by the audio (rpm, throttle) and the visuals (wheel speed).
double engine_rev(const std::vector<Event>& events, double t);
/// Engine rpm at time t.
double engine_rpm(const SourceSpec& source, double t);

/// Word list for the speech class (mostly one syllable, so a word has one onset).
const std::vector<std::string>& speech_words();
/// espeak-ng voices used for the speech class: {name, female}.
const std::vector<std::pair<std::string, bool>>& speech_voices();

}  // namespace v2a::synth
