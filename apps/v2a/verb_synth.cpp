// `v2a synth`: the procedural audio-visual benchmark (a VGGSound stand-in with exact ground truth).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/core/progress.h"
#include "v2a/synth/dataset.h"
#include "v2a/synth/piano.h"
#include "verbs.h"

namespace v2a::cli {

void add_synth(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "synth",
        "make the procedural audio-visual benchmark: clips/<id>.{mp4,wav,json}, manifest.csv, summary.json "
        "(same seed => identical files; re-runs skip finished clips)");
    auto opts = std::make_shared<synth::DatasetOptions>();
    auto classes = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("--out", *out, "output directory")->required();
    cmd->add_option("--train", opts->n_train, "train clips")->capture_default_str();
    cmd->add_option("--val", opts->n_val, "validation clips")->capture_default_str();
    cmd->add_option("--test", opts->n_test, "test clips")->capture_default_str();
    cmd->add_option("--seconds", opts->config.seconds, "clip length in seconds (1..10)")->capture_default_str();
    cmd->add_option("--fps", opts->config.fps, "video frame rate (5..60)")->capture_default_str();
    cmd->add_option("--size", opts->config.size, "frame width = height in pixels (16..512)")->capture_default_str();
    cmd->add_option("--sample-rate", opts->config.sample_rate, "audio sample rate (8000..48000)")->capture_default_str();
    cmd->add_option("--seed", opts->seed, "dataset seed")->capture_default_str();
    cmd->add_option("--workers", opts->workers, "parallel clips (0 = --threads / all cores)")->capture_default_str();
    cmd->add_option("--classes", *classes, "comma-separated subset of classes (default: all)");
    cmd->add_flag("!--no-video", opts->write_video, "write audio and ground truth only (no mp4)");
    auto task = std::make_shared<std::string>("general");
    auto piano = std::make_shared<synth::PianoDatasetOptions>();
    cmd->add_option("--task", *task,
                    "general: the V2A benchmark; piano: piano performances with MIDI ground truth (issue 18: "
                    "clips/<id>.roll.safetensors, two pianists as labels, top + front keyboard views)")
        ->capture_default_str()
        ->check(CLI::IsMember({"general", "piano"}));
    cmd->add_option("--key-px", piano->video.white_key_px, "piano: pixels per white key (frame width 52 x this + 8)")
        ->capture_default_str();
    cmd->add_option("--view-height", piano->video.view_height, "piano: pixels per view (frame height 2 x this)")
        ->capture_default_str();
    cmd->callback([opts, classes, out, task, piano] {
        if (*task == "piano") {
            V2A_CHECK(classes->empty() && opts->write_video, Usage, "synth --task piano: --classes and --no-video do not apply");
            piano->out = *out;
            piano->n_train = opts->n_train;
            piano->n_val = opts->n_val;
            piano->n_test = opts->n_test;
            piano->config = opts->config;
            piano->seed = opts->seed;
            piano->workers = opts->workers;
            const nlohmann::json s = synth::write_piano_dataset(*piano);
            std::printf("synth piano: %lld clips (%lld rendered, %lld skipped, %lld notes) in %s -> %s/manifest.csv\n",
                        (long long)s["clips"].get<int64_t>(), (long long)s["rendered"].get<int64_t>(),
                        (long long)s["skipped"].get<int64_t>(), (long long)s["notes"].get<int64_t>(),
                        format_duration(s["elapsed_s"].get<double>()).c_str(), out->c_str());
            return;
        }
        opts->out = *out;
        opts->classes = *classes;
        const nlohmann::json s = synth::write_dataset(*opts);
        std::printf("synth: %lld clips (%lld rendered, %lld skipped) in %s -> %s\n", (long long)s["clips"].get<int64_t>(),
                    (long long)s["rendered"].get<int64_t>(), (long long)s["skipped"].get<int64_t>(),
                    format_duration(s["elapsed_s"].get<double>()).c_str(), out->c_str());
        std::printf("  %.1f h of audio-video, %.1f MB, %.2f clips/s; per split:", s["total_duration_s"].get<double>() / 3600.0,
                    s["bytes"].get<double>() / 1e6, s["clips_per_s"].get<double>());
        for (auto& [split, n] : s["per_split"].items()) std::printf(" %s %lld", split.c_str(), (long long)n.get<int64_t>());
        std::printf("\n  manifest: %s/manifest.csv, summary: %s/summary.json\n", out->c_str(), out->c_str());
    });
}

}  // namespace v2a::cli
