#include "v2a/train/online_dpo.h"

#include <nlohmann/json.hpp>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/flow/pipeline.h"

namespace v2a::train {

DpoResult train_dpo_online(const io::ClipDataset& train, const io::ClipDataset& val, const DpoOptions& dpo,
                           const OnlineDpoOptions& online) {
    V2A_CHECK(!dist::active(), Usage, "dpo: online rounds run in one process (", dist::describe(),
              " here); sample each round's pairs with `v2a pairs` on many processes and train it with `v2a dpo --pairs`");
    V2A_CHECK(online.rounds >= 1, Usage, "dpo: --online-rounds must be >= 1, got ", online.rounds);
    V2A_CHECK(dpo.source == DpoPairSource::Pairs, Usage, "dpo: online rounds sample pairs; not with --syncdpo");
    V2A_CHECK(dpo.steps >= online.rounds, Usage, "dpo: ", dpo.steps, " updates cannot be split into ", online.rounds,
              " rounds");
    V2A_CHECK(online.pairs.ranking == pairs::Ranking::GtVsSample || online.pairs.ranking == pairs::Ranking::Oracle,
              Usage, "dpo: online rounds rank samples with gt-vs-sample or oracle (no scorer is loaded here)");
    V2A_CHECK(dpo.heldout_pairs == 0, Usage, "dpo: --heldout-pairs is per pair set; not with online rounds");
    V2A_CHECK(!dpo.run_dir.empty(), Usage, "dpo: --out is required");
    fs::ensure_dir(dpo.run_dir);

    std::filesystem::path init = dpo.init;
    double baseline = dpo.drift_baseline;
    DpoResult last;
    nlohmann::json rounds = nlohmann::json::array();
    double pair_seconds = 0.0;
    const int64_t per_round = dpo.steps / online.rounds;
    for (int r = 0; r < online.rounds; ++r) {
        const auto dir = dpo.run_dir / ("round_" + std::to_string(r));
        const auto pair_dir = dir / "pairs";
        if (!std::filesystem::exists(pair_dir / ".done")) {
            // The current policy samples; the pair rule needs no scorer (gt-vs-sample, oracle).
            V2A_LOG_INFO("dpo online: round %d/%d: sampling pairs from %s", r + 1, online.rounds,
                         init.string().c_str());
            auto pipeline = flow::Pipeline::load(init, dpo.vae_path);
            auto po = online.pairs;
            po.seed = online.pairs.seed + 1000 * uint64_t(r);
            const auto summary = pairs::build_sampled_pairs(pipeline, nullptr, train, pair_dir, po);
            fs::write_atomic(pair_dir / ".done", summary.dump() + "\n");
        }
        pair_seconds += nlohmann::json::parse(fs::read_text(pair_dir / ".done")).value("seconds", 0.0);
        const auto set = pairs::PairSet::load(pair_dir);
        auto o = dpo;
        o.init = init;
        o.run_dir = dir / "dpo";
        o.steps = r + 1 == online.rounds ? dpo.steps - per_round * (online.rounds - 1) : per_round;
        o.seed = dpo.seed + uint64_t(r);
        o.drift_baseline = baseline;
        o.resume = true;  // a finished round's checkpoint makes its re-run a no-op that re-exports
        last = train_dpo(&set, train, val, o);
        if (baseline <= 0) baseline = last.heldout_loss_init;
        rounds.push_back({{"round", r},
                          {"init", init.string()},
                          {"pairs", set.size()},
                          {"heldout_loss_init", last.heldout_loss_init},
                          {"heldout_loss", last.heldout_loss},
                          {"exported_step", last.exported_step},
                          {"stopped_early", last.stopped_early},
                          {"final_train_accuracy", last.final_accuracy}});
        init = last.model_path;
        if (last.stopped_early || last.exported_step == 0) {
            V2A_LOG_INFO("dpo online: round %d %s: no further rounds", r + 1,
                         last.stopped_early ? "hit the drift bound" : "exported its reference");
            break;
        }
    }
    DpoResult result = last;
    result.heldout_loss_init = baseline;
    result.model_path = dpo.run_dir / "generator.safetensors";
    const auto bytes = fs::read_bytes(init);
    fs::write_atomic(result.model_path, bytes.data(), bytes.size());
    const nlohmann::json summary = {{"heldout_loss_init", baseline},
                                    {"heldout_loss", last.heldout_loss},
                                    {"heldout_drift", last.heldout_loss / baseline - 1.0},
                                    {"final_train_accuracy", last.final_accuracy},
                                    {"online_rounds", online.rounds},
                                    {"rounds_run", rounds.size()},
                                    {"pair_seconds", pair_seconds},
                                    {"rounds", rounds}};
    fs::write_atomic(dpo.run_dir / "result.json", summary.dump(2) + "\n");
    V2A_LOG_INFO("dpo online: %zu rounds; held-out flow loss %.4f -> %.4f; wrote %s", rounds.size(), baseline,
                 last.heldout_loss, result.model_path.string().c_str());
    return result;
}

}  // namespace v2a::train
