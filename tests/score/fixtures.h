// Small benchmark-like clips for the score tests: a coloured square that flashes on event frames and
// decaying beeps (500 Hz, 1500 Hz, or noise bursts by class) starting exactly on those frames, with a
// ground-truth JSON in the benchmark's format (sources, sounding, events with time).
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"

namespace v2a::score::test {

constexpr double kSeconds = 2.5;
constexpr int64_t kFrames = 62, kSamples = 40000;

inline io::ClipItem make_clip(const std::string& id, int cls, const std::vector<int>& event_frames,
                              const std::string& caption, uint64_t seed, const std::string& label_override = "") {
    static const char* labels[] = {"low", "high", "noise"};
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::normal_distribution<float> noise(0.f, 1.f);
    io::ClipItem item;
    item.id = id;
    item.label = label_override.empty() ? labels[cls] : label_override;
    item.caption = caption;
    auto frames = torch::zeros({kFrames, 32, 32, 3}, torch::kUInt8);
    const uint8_t colour[3][3] = {{200, 40, 40}, {40, 200, 40}, {40, 40, 200}};
    using torch::indexing::Slice;
    for (int c = 0; c < 3; ++c) frames.index_put_({Slice(), Slice(8, 24), Slice(8, 24), c}, int(colour[cls][c]));
    std::vector<float> audio(size_t(kSamples), 0.f);
    nlohmann::json events = nlohmann::json::array();
    for (int f : event_frames) {
        frames.index_put_({f, Slice(8, 24), Slice(8, 24)}, 255);
        const int64_t s0 = int64_t(std::llround(f / 25.0 * 16000));
        for (int64_t k = 0; k < 8000 && s0 + k < kSamples; ++k) {  // long enough to fade out (no click)
            const double env = std::exp(-double(k) / 600.0);
            const double t = double(k) / 16000.0;
            const double v = cls == 0 ? std::sin(2 * M_PI * 500 * t)
                             : cls == 1 ? std::sin(2 * M_PI * 1500 * t)
                                        : 0.7 * noise(rng);
            audio[size_t(s0 + k)] += float(0.5 * env * v);
        }
        events.push_back({{"time", f / 25.0}, {"frame", f}});
    }
    item.frames = frames;
    item.audio = torch::tensor(audio);
    item.truth_json = nlohmann::json{{"label", item.label},
                                     {"sources", {{{"role", "main"}, {"sounding", true}, {"events", events}},
                                                  {{"role", "distractor"}, {"sounding", false},
                                                   {"events", {{{"time", 2.0}, {"frame", 50}}}}}}}}
                          .dump();
    return item;
}

inline io::ClipDatasetOptions clip_options() {
    io::ClipDatasetOptions o;
    o.duration = kSeconds;
    return o;
}

}  // namespace v2a::score::test
