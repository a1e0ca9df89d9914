// The class table of the procedural benchmark: each class is one real sound source (a General MIDI
// instrument through FluidSynth, espeak-ng speech, a freedesktop sample) or a procedural source
// (water, engine), paired with one distinct visual object (shape, colour, texture, motion).
#pragma once
#include <string>
#include <vector>

namespace v2a::synth {

enum class SoundKind {
    Midi,     // FluidSynth + FluidR3_GM: one note per event
    Speech,   // espeak-ng: one word per event
    Sample,   // a freedesktop .oga sample per event
    Water,    // filtered-noise bed + drop splashes (procedural)
    Engine,   // harmonic pulse train at an rpm + revs (procedural)
};

struct ClassInfo {
    std::string name;                 // label in the manifest, e.g. "piano"
    std::string noun;                 // caption subject, e.g. "a piano"
    SoundKind sound = SoundKind::Midi;
    std::vector<int> programs;        // GM programs (Midi); percussion uses bank 128
    bool percussion = false;          // GM channel 10 (drum kit)
    std::vector<int> notes;           // MIDI keys to draw from (Midi)
    std::vector<std::string> samples; // file names under the freedesktop sound dir (Sample)
    double min_gap = 0.4;             // seconds between consecutive events
    double note_min = 0.2, note_max = 0.6;   // note length range (s), Midi only
    bool impulsive = true;            // one sharp onset per event and nothing else (onset tests)
    std::vector<std::string> captions;       // templates: {n} count word, {s} plural s, {who} speaker
};

/// Every class, in label order (index = class id).
const std::vector<ClassInfo>& all_classes();
/// Index of `name` in all_classes(); throws v2a::Error(Usage) naming it and listing the valid names.
int class_index(const std::string& name);
/// Parses "a,b,c" (empty = all) into class ids; rejects unknown names and duplicates.
std::vector<int> parse_class_list(const std::string& list);

/// The directory of the freedesktop sound theme samples.
std::string freedesktop_sound_dir();
/// The General MIDI SoundFont used for every Midi class.
std::string default_soundfont();

}  // namespace v2a::synth
