// `v2a eval`: scores generated audio against a benchmark's ground truth with the frozen judges
// (judge/evaluate.h), av-benchmark style; `--sanity` builds shuffled / mismatched / shifted
// predictions from the ground truth and checks the judges rank them below the ground truth.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/io/manifest.h"
#include "v2a/judge/evaluate.h"
#include "v2a/score/simulated_annotator.h"
#include "verbs.h"

namespace v2a::cli {

namespace {

void print_sanity(const nlohmann::json& s) {
    static const std::vector<std::string> cols = {"fd_cnn", "fd_transformer", "kl_cnn", "kl_transformer", "is_cnn",
                                                  "ib_score", "clap", "desync", "av_align", "si_sdr", "onset_f1"};
    std::printf("%-22s", "setting");
    for (const auto& c : cols) std::printf(" %14s", c.c_str());
    std::printf("\n");
    for (const auto& [name, row] : s["rows"].items()) {
        std::printf("%-22s", name.c_str());
        for (const auto& c : cols) {
            if (row["metrics"].contains(c)) {
                std::printf(" %14.4f", row["metrics"][c].get<double>());
            } else {
                std::printf(" %14s", "-");
            }
        }
        std::printf("\n");
    }
    for (const auto& c : s["checks"]) {
        std::printf("[%s] %s\n", c["pass"].get<bool>() ? "pass" : "FAIL", c["check"].get<std::string>().c_str());
    }
}

// The noiseless SIMULATED annotator's quality and Good/Bad verdict of every prediction, merged into
// the eval JSON (metrics sim_quality / sim_good_rate, per clip sim_quality / sim_good).
void add_simulated_ratings(nlohmann::json& out, const io::ClipDataset& gt,
                           const std::map<std::string, torch::Tensor>& pred, const std::string& id, bool per_clip) {
    score::SimulatedAnnotatorOptions ao;
    ao.annotator = id;
    ao.error_rate = 0.0;
    const score::SimulatedAnnotator annotator(ao);
    std::vector<SimulatedVerdict> verdicts;
    for (int64_t i = 0; i < gt.size(); ++i) {
        const auto it = pred.find(gt[i].id);
        if (it == pred.end()) continue;
        const auto r = annotator.rate(it->second, gt[i], gt[i].id);
        verdicts.push_back({gt[i].id, r.quality, r.noiseless == score::Rating::Good});
    }
    V2A_CHECK(!verdicts.empty(), Data, "eval: no prediction to rate with the simulated annotator");
    add_simulated_verdicts(out, verdicts, id, per_clip);
    std::printf("SIMULATED annotator %s (noiseless): mean quality %.4f, Good rate %.4f over %zu clips\n", id.c_str(),
                out["metrics"]["sim_quality"].get<double>(), out["metrics"]["sim_good_rate"].get<double>(),
                verdicts.size());
}

}  // namespace

void add_eval(CLI::App& app) {
    auto* cmd = app.add_subcommand("eval", "score generated audio (DIR/<id>.wav|.flac|.mp4) against the ground truth "
                                           "with the judges: FD, KL, IS, IB-score, CLAP, DeSync, AV-Align, SI-SDR, "
                                           "onset F1, PESQ");
    struct Args {
        std::string gt, pred, judges, out, split = "test", cache, annotator;
        bool unpaired = false, resample = false, allow_silent = false, no_av_align = false, no_pesq = false;
        bool sanity = false, no_cache = false, no_per_clip = false;
        double shift = 0.5, onset_window = 0.1;
        uint64_t seed = 0;
        int frame_size = 64;
    };
    auto a = std::make_shared<Args>();
    cmd->add_option("--gt", a->gt, "ground-truth manifest.csv")->required();
    cmd->add_option("--pred", a->pred, "directory of predictions named by clip id");
    cmd->add_option("--judges", a->judges, "judge directory (default: <manifest folder>/judges)");
    cmd->add_option("--out", a->out, "write the results as JSON here");
    cmd->add_option("--split", a->split, "ground-truth split to pair with")->capture_default_str();
    cmd->add_flag("--unpaired", a->unpaired, "FD and IS only (predictions need not match clip ids)");
    cmd->add_flag("--resample", a->resample, "resample WAV/FLAC predictions that are not at 16 kHz (default: error)");
    cmd->add_flag("--allow-silent", a->allow_silent, "score silent predictions (default: error)");
    cmd->add_flag("--no-av-align", a->no_av_align, "skip AV-Align (optical flow is the slowest metric)");
    cmd->add_flag("--no-pesq", a->no_pesq, "skip PESQ on speech clips");
    cmd->add_flag("--no-per-clip", a->no_per_clip, "leave per-clip values out of the JSON");
    cmd->add_option("--simulated-annotator", a->annotator,
                    "also rate each prediction with this SIMULATED annotator (e.g. sim0), noiseless: sim_quality and "
                    "sim_good_rate (a stand-in for human raters, never a person)");
    cmd->add_option("--onset-window", a->onset_window,
                    "onset F1 tolerance (s): 0.1 as the field uses; smaller to see timing the 0.2 s DeSync grid and "
                    "the 0.1 s window cannot")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 1.0));
    cmd->add_flag("--sanity", a->sanity, "judge sanity table: ground truth vs shuffled, mismatched and shifted audio");
    cmd->add_option("--shift", a->shift, "--sanity: delay of the shifted audio (s)")->capture_default_str();
    cmd->add_option("--seed", a->seed, "--sanity: seed of the shuffles")->capture_default_str();
    cmd->add_option("--frame-size", a->frame_size, "ground-truth frames are decoded at this size")->capture_default_str();
    cmd->add_option("--cache", a->cache, "decoded-clip cache directory (default: <manifest folder>/cache)");
    cmd->add_flag("--no-cache", a->no_cache, "decode without the cache");
    cmd->callback([a] {
        const auto split = io::parse_split(a->split);
        V2A_CHECK(split.has_value(), Usage, "--split '", a->split, "': expected train, val or test");
        V2A_CHECK(a->sanity || !a->pred.empty(), Usage, "eval: --pred DIR is required (or --sanity)");
        const auto manifest = io::read_manifest(a->gt);
        const auto judges_dir = a->judges.empty() ? manifest.path.parent_path() / "judges" : std::filesystem::path(a->judges);
        auto judges = judge::load_judges(judges_dir);
        io::ClipDatasetOptions d;
        d.frame_size = a->frame_size;
        d.load_frames = !a->unpaired;
        d.load_truth = !a->unpaired;
        if (!a->no_cache) d.cache_dir = a->cache.empty() ? manifest.path.parent_path() / "cache" : std::filesystem::path(a->cache);
        auto rows = manifest.filter(*split);
        V2A_CHECK(!rows.rows.empty(), Data, a->gt, ": has no ", a->split, " clips");
        judge::EvalOptions eo;
        eo.unpaired = a->unpaired;
        eo.allow_silent = a->allow_silent;
        eo.av_align = !a->no_av_align;
        eo.pesq = !a->no_pesq;
        eo.per_clip = !a->no_per_clip;
        eo.onset_window = a->onset_window;
        nlohmann::json out;
        if (a->sanity) {
            const io::ClipDataset test(rows, d, "eval " + a->split);
            io::ClipDatasetOptions pd = d;
            pd.load_frames = false;
            pd.load_truth = false;
            auto pool_rows = manifest.filter(io::Split::Train);
            V2A_CHECK(!pool_rows.rows.empty(), Data, a->gt, ": --sanity needs train clips for the mismatched audio");
            const io::ClipDataset pool(pool_rows, pd, "eval pool (train)");
            out = judge::sanity_table(test, pool, judges, eo, a->shift, a->seed);
            out["gt"] = a->gt;
            out["judges"] = judges_dir.string();
            out["split"] = a->split;
            print_sanity(out);
        } else {
            const auto pred = judge::read_predictions(a->pred, judge::kJudgeSampleRate, a->resample);
            const io::ClipDataset gt(rows, d, "eval " + a->split);
            const auto result = judge::evaluate(gt, pred, judges, eo);
            std::printf("%s", judge::format_table(result).c_str());
            out = result.to_json();
            out["onset_window"] = a->onset_window;
            if (!a->annotator.empty()) add_simulated_ratings(out, gt, pred, a->annotator, !a->no_per_clip);
            out["gt"] = a->gt;
            out["pred"] = a->pred;
            out["judges"] = judges_dir.string();
            out["split"] = a->split;
            out["unpaired"] = a->unpaired;
        }
        if (!a->out.empty()) {
            fs::write_atomic(a->out, out.dump(2) + "\n");
            std::printf("wrote %s\n", a->out.c_str());
        }
    });
}

}  // namespace v2a::cli
