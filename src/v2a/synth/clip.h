// One benchmark clip: sampling its ground truth (a ClipSpec, a pure function of the dataset seed,
// split and index) and rendering it (audio from the sound sources, frames from the scene).
#pragma once
#include <torch/types.h>

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "v2a/synth/spec.h"

namespace v2a::synth {

struct SampleOptions {
    double p_distractor = 0.20;     // a silent object of another class moves on screen
    double p_second = 0.15;         // a second sounding source of another class
    double p_empty_caption = 0.20;  // no caption (the text condition is optional)
    int min_events = 1, max_events = 6;
    int main_class = -1;            // >= 0 forces the main class (tests); else balanced by index
};

/// "train_00042".
std::string clip_id(const std::string& split, int64_t index);

/// The clip's ground truth. `classes` lists the class ids allowed (main, second and distractor).
ClipSpec sample_clip_spec(const ClipConfig& config, uint64_t dataset_seed, const std::string& split, int64_t index,
                          const std::vector<int>& classes, const SampleOptions& options = {});

/// The caption of a spec, from the class templates (empty when `spec.caption` was chosen empty).
std::string make_caption(const ClipSpec& spec, double u_template, double u_second);

struct RenderedClip {
    ClipSpec spec;                 // with event durations filled in from the rendered sounds
    torch::Tensor frames;          // [T, size, size, 3] uint8 RGB
    std::vector<float> audio;      // [n_samples] mono, loudness-normalised, |x| <= 0.95
};

RenderedClip render_clip(const ClipSpec& spec);

/// Ground-truth JSON of a clip (class, sources with their sound details and events in seconds,
/// frames and samples, caption, seed, config).
nlohmann::json spec_to_json(const ClipSpec& spec);
/// The config block stored in every clip JSON (a re-run with other settings re-renders the clip).
nlohmann::json config_to_json(const ClipConfig& config, uint64_t dataset_seed);

}  // namespace v2a::synth
