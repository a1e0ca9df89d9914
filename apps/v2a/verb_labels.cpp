// `v2a labels`: rating files for AudioScore. `labels simulate` rates generated samples with the
// SIMULATED annotator (score/simulated_annotator.h), the benchmark's stand-in for human raters.
// (Subcommands for real ratings, e.g. exporting the web UI's database, go next to it.)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <sstream>

#include "common.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/progress.h"
#include "v2a/io/manifest.h"
#include "v2a/score/labels.h"
#include "v2a/score/sample_set.h"
#include "v2a/score/simulated_annotator.h"
#include "verbs.h"

namespace v2a::cli {
namespace {

struct SimulateArgs {
    DataArgs data;
    std::string samples, out, details, annotators = "sim0";
    double error_rate = 0.1;
    uint64_t seed = 0;
};

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        item = io::trim_blanks(item);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

void run_simulate(const SimulateArgs& a) {
    const auto samples = score::read_samples(a.samples);
    const auto manifest = io::read_manifest(a.data.manifest, {true});
    const auto clips = score::load_sample_clips(manifest, samples, a.data.dataset_options(false, true), a.samples);
    const auto rows = score::clip_rows(clips);
    const auto ids = split_list(a.annotators);
    V2A_CHECK(!ids.empty(), Usage, "labels simulate: --annotator needs at least one id");
    std::vector<score::SimulatedAnnotator> annotators;
    for (const auto& id : ids) {
        score::SimulatedAnnotatorOptions o;
        o.annotator = id;
        o.seed = a.seed;
        o.error_rate = a.error_rate;
        annotators.emplace_back(o);
    }
    // One reference per clip (true events, the real recording's onsets and spectrum), shared by its samples.
    std::map<std::string, score::TruthReference> references;
    std::vector<score::LabelRecord> labels;
    std::string details;
    int64_t counts[score::kNumRatings] = {0, 0, 0}, flipped = 0;
    double quality = 0, temporal = 0, semantic = 0, aesthetic = 0;
    Progress progress("labels simulate", int64_t(samples.size()), "sample");
    for (const auto& s : samples) {
        const auto& item = clips[rows.at(s.clip_id)];
        auto ref = references.find(s.clip_id);
        if (ref == references.end()) ref = references.emplace(s.clip_id, annotators.front().reference(item)).first;
        const auto obs = annotators.front().observe(score::read_sample_audio(s, item.audio.size(0)), ref->second);
        for (const auto& annotator : annotators) {
            const auto r = annotator.rate(obs, s.sample_id);
            labels.push_back({s.sample_id, r.rating, annotator.options().annotator});
            ++counts[int(r.rating)];
            flipped += r.flipped;
            quality += r.quality;
            temporal += obs.temporal;
            semantic += obs.semantic;
            aesthetic += r.aesthetic;
            if (!a.details.empty()) {
                auto j = r.to_json();
                j["clip_id"] = s.sample_id;
                j["video"] = s.clip_id;
                j["annotator"] = annotator.options().annotator;
                j["simulated"] = true;
                details += j.dump() + "\n";
            }
        }
        progress.advance();
    }
    progress.finish();
    score::write_labels(a.out, labels);
    if (!a.details.empty()) fs::write_atomic(a.details, details);
    const double n = double(labels.size());
    std::printf("labels simulate: %zu SIMULATED ratings (%zu samples x %zu simulated annotators: %s) -> %s\n",
                labels.size(), samples.size(), annotators.size(), a.annotators.c_str(), a.out.c_str());
    std::printf("  good %lld  medium %lld  bad %lld   (label noise: %lld flipped at error rate %.2f)\n",
                (long long)counts[0], (long long)counts[1], (long long)counts[2], (long long)flipped, a.error_rate);
    std::printf("  mean quality %.3f  temporal %.3f  semantic %.3f  aesthetic %.3f\n", quality / n, temporal / n,
                semantic / n, aesthetic / n);
    if (!a.details.empty()) std::printf("  per-rating details: %s\n", a.details.c_str());
}

void add_simulate(CLI::App& labels) {
    auto* cmd = labels.add_subcommand(
        "simulate", "rate generated samples with the SIMULATED annotator (a stand-in for human raters; benchmark only)");
    auto a = std::make_shared<SimulateArgs>();
    a->data.add_to(*cmd);
    cmd->add_option("--samples", a->samples, "samples.csv (sample_id,clip_id,seed,audio) from v2a generate")->required();
    cmd->add_option("--out", a->out, "labels CSV to write (clip_id,label,annotator)")->required();
    cmd->add_option("--error-rate", a->error_rate, "probability a label is replaced by a random other label")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--seed", a->seed, "seed of the annotators' taste and label noise")->capture_default_str();
    cmd->add_option("--annotator", a->annotators, "simulated annotator id(s), comma-separated (sim0,sim1,...)")
        ->capture_default_str();
    cmd->add_option("--details", a->details, "also write each rating's measurements (JSONL)");
    cmd->callback([a] { run_simulate(*a); });
}

}  // namespace

void add_labels(CLI::App& app) {
    auto* cmd = app.add_subcommand("labels", "rating files (Good/Medium/Bad per generated sample) for AudioScore");
    cmd->require_subcommand(1);
    add_simulate(*cmd);
    add_labels_export(*cmd);
}

}  // namespace v2a::cli
