#include "common.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"

namespace v2a::cli {

void DataArgs::add_to(CLI::App& cmd, bool required) {
    auto* opt = cmd.add_option("--data", manifest, "dataset manifest CSV (id,video,caption,label,split[,audio])");
    if (required) opt->required();
    cmd.add_option("--duration", duration, "clip length in seconds (clips are trimmed / padded)")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 10.0));
    cmd.add_option("--frame-size", frame_size, "frames are decoded to this square size")
        ->capture_default_str()
        ->check(CLI::Range(16, 224));
    cmd.add_option("--cache", cache, "decoded-feature cache folder (default: <manifest folder>/cache)");
    cmd.add_flag("--no-cache", no_cache, "decode every clip, do not read or write the cache");
}

io::ClipDatasetOptions DataArgs::dataset_options(bool frames, bool audio) const {
    io::ClipDatasetOptions o;
    o.duration = duration;
    o.frame_size = frame_size;
    o.load_frames = frames;
    o.load_audio = audio;
    if (!no_cache) {
        o.cache_dir = cache.empty() ? std::filesystem::path(manifest).parent_path() / "cache"
                                    : std::filesystem::path(cache);
    }
    return o;
}

io::ClipDataset DataArgs::load(io::Split split, bool frames, bool audio, const std::string& what) const {
    V2A_CHECK(!manifest.empty(), Usage, what, ": --data MANIFEST is required");
    auto all = io::read_manifest(manifest, {true});
    auto rows = all.filter(split);
    V2A_CHECK(!rows.rows.empty(), Data, manifest, ": no clips in split '", io::split_name(split), "'");
    return io::ClipDataset(rows, dataset_options(frames, audio), what + " " + io::split_name(split));
}

void add_lr_decay(CLI::App& cmd, train::LrDecay& decay) {
    cmd.add_option_function<std::string>(
           "--lr-schedule", [&decay](const std::string& name) { decay.kind = train::LrSchedule::parse_kind(name); },
           "after warmup: constant | step (x gamma at each milestone, MMAudio's) | cosine (to --min-lr)")
        ->default_str("constant");
    cmd.add_option("--lr-milestones", decay.milestones, "step schedule: updates at which the lr is multiplied by gamma")
        ->delimiter(',')
        ->check(CLI::PositiveNumber);
    cmd.add_option("--lr-gamma", decay.gamma, "step schedule: factor at each milestone")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cmd.add_option("--min-lr", decay.min_lr, "cosine schedule: lr at the last update")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
}

void add_simulated_verdicts(nlohmann::json& eval, const std::vector<SimulatedVerdict>& verdicts,
                            const std::string& annotator, bool per_clip) {
    V2A_CHECK(!verdicts.empty(), Data, "no prediction was rated by the simulated annotator");
    double quality = 0.0, good = 0.0;
    for (const auto& v : verdicts) {
        quality += v.quality;
        good += v.good ? 1.0 : 0.0;
        if (per_clip) {
            eval["per_clip"][v.clip_id]["sim_quality"] = v.quality;
            eval["per_clip"][v.clip_id]["sim_good"] = v.good ? 1 : 0;
        }
    }
    eval["metrics"]["sim_quality"] = quality / double(verdicts.size());
    eval["metrics"]["sim_good_rate"] = good / double(verdicts.size());
    eval["simulated_annotator"] = annotator + " (SIMULATED, noiseless; a stand-in for human raters)";
}

}  // namespace v2a::cli
