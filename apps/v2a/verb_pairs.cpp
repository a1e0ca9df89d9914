// `v2a pairs`: builds a preference-pair dataset (V2A-DPO's automatic pipeline, STAR-DPO ranking,
// and human pairs from ratings); resumable and shardable (--shard i/N).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "common.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/pairs/sampled_pairs.h"
#include "v2a/core/distributed.h"
#include "verbs.h"

namespace v2a::cli {

namespace {

struct PairsArgs {
    std::string out, model, vae, judges, audioscore, split = "train", shard = "0/1", ranking = "audioscore";
    std::string human_labels, samples;
    int human_per_clip = 1;
    bool no_auto = false;
    pairs::SampledPairOptions o;
};

io::Split split_of(const std::string& name) {
    auto s = io::parse_split(name);
    V2A_CHECK(s.has_value(), Usage, "--split must be train, val or test, got '", name, "'");
    return *s;
}

}  // namespace

void add_pairs(CLI::App& app) {
    auto* cmd = app.add_subcommand("pairs", "build preference pairs: K samples per video ranked by AudioScore "
                                            "(or STAR), plus human pairs from ratings");
    auto data = std::make_shared<DataArgs>();
    auto a = std::make_shared<PairsArgs>();
    data->add_to(*cmd);
    cmd->add_option("--out", a->out, "pair directory (pairs-*.jsonl, latents/, config.json)")->required();
    cmd->add_option("--model", a->model, "reference generator (the SFT model)")->required();
    cmd->add_option("--vae", a->vae, "its VAE (ours or a converted MMAudio VAE)")->required();
    cmd->add_option("--judges", a->judges, "judge directory (`v2a train-judges`)");
    cmd->add_option("--audioscore", a->audioscore, "AudioScore model (`v2a audioscore train`)");
    cmd->add_option("--split", a->split, "manifest split whose videos get pairs (never test)")->capture_default_str();
    cmd->add_option("-K,--samples-per-video", a->o.samples_per_video, "candidates per video")->capture_default_str();
    cmd->add_option("--seed", a->o.seed, "candidate k uses seed + k")->capture_default_str();
    cmd->add_option("--steps", a->o.generate.sampler.steps, "Euler steps")->capture_default_str();
    cmd->add_option("--cfg", a->o.generate.sampler.cfg_strength, "CFG strength")->capture_default_str();
    cmd->add_option_function<std::string>(
           "--dtype", [a](const std::string& d) { a->o.generate.precision = parse_precision(d); },
           "compute precision of the sampler: fp32 | bf16 (CPU autocast)")
        ->default_str("fp32");
    cmd->add_option("--min-margin", a->o.selection.min_margin, "minimum P(Good) gap of a kept pair")
        ->capture_default_str();
    cmd->add_option("--ranking", a->ranking,
                    "how a video's pair is chosen: audioscore (V2A-DPO) | star (STAR-DPO semantic+temporal ranks) | "
                    "oracle (the SIMULATED annotator's noiseless quality: the ceiling, not a method) | gt-vs-sample "
                    "(ground truth wins over each of the K samples)")
        ->capture_default_str();
    cmd->add_option("--oracle-annotator", a->o.oracle_annotator, "--ranking oracle: the simulated annotator's id")
        ->capture_default_str();
    cmd->add_option("--videos-per-chunk", a->o.videos_per_chunk, "videos per sampling batch / latent shard")
        ->capture_default_str();
    cmd->add_option("--shard", a->shard, "this job's shard i/N of the videos")->capture_default_str();
    cmd->add_option("--human-labels", a->human_labels, "ratings (labels CSV/JSONL) of generated samples");
    cmd->add_option("--samples", a->samples, "samples.csv the ratings refer to");
    cmd->add_option("--human-pairs-per-clip", a->human_per_clip, "Good/Bad pairs per rated video")
        ->capture_default_str();
    cmd->add_flag("--no-auto", a->no_auto, "only human pairs");
    cmd->callback([data, a] {
        V2A_CHECK(split_of(a->split) != io::Split::Test, Usage,
                  "pairs: the test split is for evaluation only; build pairs on train (or val)");
        const auto [index, count] = pairs::parse_shard(a->shard);
        a->o.shard_index = index;
        a->o.shard_count = count;
        if (dist::active()) {
            // Data parallel (v2a launch / torchrun): rank r builds shard r/N; the store merges shards.
            V2A_CHECK(count == 1, Usage, "pairs: --shard and a distributed launch both split the videos; use one");
            V2A_CHECK(a->human_labels.empty(), Usage, "pairs: human pairs are built in one process");
            a->o.shard_index = dist::rank();
            a->o.shard_count = dist::world_size();
        }
        a->o.ranking = pairs::parse_ranking(a->ranking);
        const bool human = !a->human_labels.empty();
        V2A_CHECK(human == !a->samples.empty(), Usage, "pairs: --human-labels and --samples go together");
        V2A_CHECK(!a->no_auto || human, Usage, "pairs: --no-auto needs --human-labels");
        auto videos = data->load(split_of(a->split), true, true, "pairs");
        auto pipeline = flow::Pipeline::load(a->model, a->vae);
        fs::ensure_dir(a->out);
        nlohmann::json config = {{"model", a->model},     {"vae", a->vae},       {"judges", a->judges},
                                 {"audioscore", a->audioscore}, {"split", a->split}, {"K", a->o.samples_per_video},
                                 {"seed", a->o.seed},     {"steps", a->o.generate.sampler.steps},
                                 {"cfg", a->o.generate.sampler.cfg_strength}, {"ranking", a->ranking},
                                 {"min_margin", a->o.selection.min_margin},
                                 {"latents", "vae-encoded"},  // samples re-encoded like ground truth
                                 {"dtype", precision_name(a->o.generate.precision)}};
        if (a->o.ranking == pairs::Ranking::Oracle) config["oracle_annotator"] = a->o.oracle_annotator;
        // A resumed or sharded job must make the same set: refuse to mix pairs made differently.
        const auto config_path = std::filesystem::path(a->out) / "config.json";
        if (std::filesystem::exists(config_path)) {
            const auto old = nlohmann::json::parse(fs::read_text(config_path));
            for (const auto& [key, value] : config.items()) {
                V2A_CHECK(old.value(key, nlohmann::json()) == value, Usage, "pairs: ", config_path.string(),
                          " was made with ", key, " = ", old.value(key, nlohmann::json()).dump(), ", this run has ",
                          value.dump(), " (use the same options to resume, or a new --out)");
            }
        } else {
            fs::write_atomic(config_path, config.dump(2));
        }
        if (!a->no_auto) {
            std::unique_ptr<score::AudioScorer> scorer;
            if (a->o.ranking == pairs::Ranking::AudioScore || a->o.ranking == pairs::Ranking::Star) {
                V2A_CHECK(!a->judges.empty(), Usage, "pairs: --judges is required for --ranking ", a->ranking);
                V2A_CHECK(!a->audioscore.empty(), Usage, "pairs: --audioscore is required for --ranking ", a->ranking);
                scorer = std::make_unique<score::AudioScorer>(score::AudioScorer::load(a->judges, a->audioscore));
            }
            if (a->o.ranking == pairs::Ranking::Oracle) {
                std::printf("pairs: ranking by the SIMULATED annotator '%s' (noiseless): ORACLE pairs, the ceiling of "
                            "any scorer, not a method\n", a->o.oracle_annotator.c_str());
            }
            auto summary = pairs::build_sampled_pairs(pipeline, scorer.get(), videos, a->out, a->o);
            std::printf("pairs: %s\n", summary.dump().c_str());
        }
        if (human) {
            auto summary = pairs::build_human_pairs(pipeline, videos, score::read_samples(a->samples),
                                                    score::read_labels(a->human_labels), a->out, a->human_per_clip);
            std::printf("pairs (human): %s\n", summary.dump().c_str());
        }
        std::printf("pairs: set %s: %s\n", a->out.c_str(), pairs::PairSet::load(a->out).summary().dump().c_str());
    });
}

}  // namespace v2a::cli
