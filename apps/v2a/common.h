// Options and helpers several verbs share (dataset loading, run directories).
#pragma once
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"
#include "v2a/io/manifest.h"
#include "v2a/train/schedule.h"

namespace CLI {
class App;
}

namespace v2a::cli {

struct DataArgs {
    std::string manifest;
    double duration = 4.0;
    int frame_size = 64;
    std::string cache;            // default: <manifest folder>/cache
    bool no_cache = false;
    /// Adds --data, --duration, --frame-size, --cache, --no-cache to a verb.
    void add_to(CLI::App& cmd, bool required = true);
    /// The loading options these arguments give (cache folder resolved).
    io::ClipDatasetOptions dataset_options(bool frames, bool audio) const;
    /// Loads one split; `frames` / `audio` choose what is decoded.
    io::ClipDataset load(io::Split split, bool frames, bool audio, const std::string& what) const;
};

/// Adds --lr-schedule, --lr-milestones, --lr-gamma and --min-lr (the decay after warmup) to a
/// training verb; `decay` must outlive the parse (it lives in the verb's shared options).
void add_lr_decay(CLI::App& cmd, train::LrDecay& decay);

/// The SIMULATED annotator's noiseless verdict on one prediction.
struct SimulatedVerdict {
    std::string clip_id;
    double quality = 0.0;
    bool good = false;
};
/// Merges verdicts (at least one) into an eval JSON as `v2a eval --simulated-annotator` writes them: per clip
/// sim_quality / sim_good (with per_clip), metrics sim_quality / sim_good_rate, the annotator named as SIMULATED.
void add_simulated_verdicts(nlohmann::json& eval, const std::vector<SimulatedVerdict>& verdicts,
                            const std::string& annotator, bool per_clip);

}  // namespace v2a::cli
