#include "v2a/train/dpo_trainer.h"

#include <chrono>
#include <map>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/flow/dpo.h"
#include "v2a/flow/generator.h"
#include "v2a/io/checkpoint.h"
#include "v2a/pairs/preference.h"
#include "v2a/pairs/rule_based.h"
#include "v2a/train/sft_trainer.h"
#include "v2a/train/train_loop.h"

namespace v2a::train {

namespace {

model::ConditionFeatures twice(const model::ConditionFeatures& f) {
    return {torch::cat({f.clip_f, f.clip_f}), torch::cat({f.sync_f, f.sync_f}), torch::cat({f.text_f, f.text_f})};
}

// Means of the logged terms over a log window (one step's accuracy of 8 pairs is too noisy to read).
struct WindowMeans {
    std::map<std::string, double> sum;
    int64_t n = 0;
    void add(const std::map<std::string, double>& m) {
        for (const auto& [k, v] : m) sum[k] += v;
        ++n;
    }
    std::map<std::string, double> take() {
        std::map<std::string, double> out;
        for (const auto& [k, v] : sum) out[k] = v / double(std::max<int64_t>(1, n));
        sum.clear();
        n = 0;
        return out;
    }
};

// Rows of the pair set that a stage samples from, and the batch at a given step of that stage:
// stateless in the step, so a resumed run draws exactly the batches of an uninterrupted one.
struct StageSampler {
    std::vector<int64_t> rows;
    std::unique_ptr<BatchSampler> sampler;
    StageSampler(std::vector<int64_t> r, int64_t batch, uint64_t seed) : rows(std::move(r)) {
        if (!rows.empty()) sampler = std::make_unique<BatchSampler>(int64_t(rows.size()), batch, seed);
    }
    std::vector<int64_t> at(int64_t local_step, int64_t batch) {
        const int64_t consumed = local_step * batch, n = int64_t(rows.size());
        sampler->restore(consumed / n, consumed % n);
        std::vector<int64_t> out;
        for (int64_t i : sampler->next()) out.push_back(rows[size_t(i)]);
        return out;
    }
};

// What the early-stopping rule has chosen so far (checkpointed through the loop's extra state).
struct ModelSelection {
    int64_t best_step = 0;         // 0 = the reference
    double best_accuracy = -1.0;
    int64_t since_best = 0;        // validations since the best one
};

// Implicit accuracy (z > 0) of the policy against the reference on held-out pairs, at fixed (noise, t)
// draws so successive validations are comparable; z's sign does not depend on beta > 0.
double heldout_pair_accuracy(flow::V2AGenerator& policy, flow::V2AGenerator& reference, const pairs::PairSet& pairs,
                             const std::vector<int64_t>& rows, const std::vector<int64_t>& cond_row,
                             const io::ClipDataset& conditions, double beta, int draws = 4, int64_t batch = 8) {
    torch::NoGradGuard ng;
    const bool was_training = policy->is_training();
    policy->eval();
    flow::FlowMatching fm;
    int64_t correct = 0, total = 0;
    for (size_t s = 0; s < rows.size(); s += size_t(batch)) {
        std::vector<int64_t> part(rows.begin() + long(s), rows.begin() + long(std::min(rows.size(), s + size_t(batch))));
        std::vector<int64_t> clip_rows;
        for (int64_t r : part) clip_rows.push_back(cond_row[size_t(r)]);
        const auto frames = conditions.frames(clip_rows);
        const auto captions = conditions.captions(clip_rows);
        const auto f_pol = twice(policy->encode(frames, captions)), f_ref = twice(reference->encode(frames, captions));
        const auto x1w = pairs.winners(part), x1l = pairs.losers(part);
        const int64_t b = x1w.size(0);
        for (int d = 0; d < draws; ++d) {
            auto rng = flow::cpu_generator(heldout_draw_seed(4321, int64_t(s), d));
            auto w = fm.draw(x1w, rng);
            auto l = fm.prepare(w.x0, x1l, w.t);
            auto x_t = torch::cat({w.x_t, l.x_t}), t = torch::cat({w.t, w.t});
            auto target = torch::cat({w.target, l.target});
            auto e_pol = flow::per_sample_mse(policy->velocity(x_t, t, f_pol), target);
            auto e_ref = flow::per_sample_mse(reference->velocity(x_t, t, f_ref), target);
            auto terms = flow::flow_dpo_loss(e_pol.narrow(0, 0, b), e_ref.narrow(0, 0, b), e_pol.narrow(0, b, b),
                                             e_ref.narrow(0, b, b), beta);
            correct += terms.z.gt(0).sum().item<int64_t>();
            total += b;
        }
    }
    if (was_training) policy->train();
    return total > 0 ? double(correct) / double(total) : 0.0;
}

}  // namespace

DpoResult train_dpo(const pairs::PairSet* pairs, const io::ClipDataset& conditions, const io::ClipDataset& val,
                    const DpoOptions& o) {
    V2A_CHECK(!o.init.empty(), Usage, "dpo: --init (the SFT generator) is required");
    V2A_CHECK(!o.vae_path.empty(), Usage, "dpo: --vae is required");
    V2A_CHECK(o.source == DpoPairSource::SyncDpo || (pairs != nullptr && pairs->size() > 0), Usage,
              "dpo: no preference pairs");
    V2A_CHECK(o.steps >= 1 && o.batch_size >= 1 && o.draws >= 1, Usage, "dpo: steps, batch and draws must be >= 1");
    V2A_CHECK(o.tau >= -1.0 && o.tau <= 1.0, Usage, "dpo: tau must be in [-1, 1], got ", o.tau);
    V2A_CHECK(o.label_smoothing >= 0.0 && o.label_smoothing < 0.5, Usage, "dpo: label smoothing must be in [0, 0.5), got ",
              o.label_smoothing);
    V2A_CHECK(o.sft_weight >= 0.0, Usage, "dpo: the winners' flow-loss weight must be >= 0, got ", o.sft_weight);
    V2A_CHECK(o.syncdpo_stages >= 1 && o.syncdpo_first_stage >= 0 && o.syncdpo_first_stage < o.syncdpo_stages, Usage,
              "dpo: --syncdpo-first-stage must be in [0, ", o.syncdpo_stages, "), got ", o.syncdpo_first_stage);
    V2A_CHECK(o.pref_t_max > 0.0 && o.pref_t_max <= 1.0, Usage, "dpo: --pref-t-max must be in (0, 1], got ",
              o.pref_t_max);
    V2A_CHECK(o.gt_anchor >= 0.0, Usage, "dpo: the ground-truth anchor weight must be >= 0, got ", o.gt_anchor);
    V2A_CHECK(o.heldout_pairs >= 0 && o.patience >= 0, Usage, "dpo: held-out pairs and patience must be >= 0");
    V2A_CHECK(o.heldout_pairs == 0 || (o.source == DpoPairSource::Pairs && o.heldout_pairs < pairs->size()), Usage,
              "dpo: --heldout-pairs ", o.heldout_pairs, " needs a pair set with more pairs than that");
    V2A_CHECK(o.patience == 0 || o.heldout_pairs > 0, Usage, "dpo: --patience needs --heldout-pairs");
    if (o.auto_beta) o.auto_beta_options.validate();
    torch::manual_seed(o.seed);
    auto policy = flow::load_generator(o.init);
    auto reference = flow::load_generator(o.init);
    policy->train();
    reference->eval();
    for (auto& p : reference->parameters()) p.set_requires_grad(false);
    auto vae = audio::AnyVae::load(o.vae_path);

    // Pair rows -> condition rows (by clip id).
    std::map<std::string, int64_t> row_of;
    for (int64_t i = 0; i < conditions.size(); ++i) row_of[conditions[i].id] = i;
    std::vector<int64_t> cond_row;
    pairs::CurriculumSplit split;
    int64_t s1_steps = 0;
    if (o.source == DpoPairSource::Pairs) {
        for (const auto& r : pairs->records()) {
            auto it = row_of.find(r.clip_id);
            V2A_CHECK(it != row_of.end(), Data, "dpo: pair ", r.pair_id, " refers to clip '", r.clip_id,
                      "', which is not in the conditioning split (use the split the pairs were made from)");
            cond_row.push_back(it->second);
        }
        // The last heldout_pairs pairs are for model selection only.
        const int64_t trained = pairs->size() - o.heldout_pairs;
        if (o.curriculum) {
            auto c = pairs->complexities();
            c.resize(size_t(trained));
            split = pairs::split_by_complexity(c, o.tau, o.cumulative);
        } else {
            for (int64_t i = 0; i < trained; ++i) split.stage2.push_back(i);
        }
        V2A_CHECK(!split.stage1.empty() || !split.stage2.empty(), Usage, "dpo: no training pairs left");
        s1_steps = pairs::stage1_steps(o.steps, int64_t(split.stage1.size()), int64_t(split.stage2.size()),
                                       o.curriculum ? o.stage1_fraction : 0.0);
        V2A_LOG_INFO("dpo: %lld pairs; %s: stage 1 (c > %.2f) %zu pairs for %lld steps, stage 2 %zu pairs for %lld steps",
                     (long long)pairs->size(), o.curriculum ? "curriculum" : "mixed", o.tau, split.stage1.size(),
                     (long long)s1_steps, split.stage2.size(), (long long)(o.steps - s1_steps));
    }
    StageSampler stage1(split.stage1, o.batch_size, o.seed * 2 + 1), stage2(split.stage2, o.batch_size, o.seed * 2 + 2);
    BatchSampler clip_sampler(conditions.size(), o.batch_size, o.seed);  // SyncDPO: ground-truth clips
    std::unique_ptr<LatentSet> train_set;
    if (o.source == DpoPairSource::SyncDpo || o.gt_anchor > 0) {
        train_set = std::make_unique<LatentSet>(make_latent_set(vae, conditions));
    }
    const LatentSet val_set = make_latent_set(vae, val);
    const double heldout_init = heldout_flow_loss(reference, val_set);
    // Drift is measured against the first model of a chain of runs (online rounds), not each round's
    // reference, so the bound cannot compound over rounds.
    const double drift_base = o.drift_baseline > 0 ? o.drift_baseline : heldout_init;
    V2A_LOG_INFO("dpo: reference held-out flow-matching loss %.4f (drift baseline %.4f)", heldout_init, drift_base);

    // Held-out pairs (the set's last heldout_pairs) and the model selection state.
    std::vector<int64_t> heldout_rows;
    for (int64_t i = o.source == DpoPairSource::Pairs ? pairs->size() - o.heldout_pairs : 0;
         o.source == DpoPairSource::Pairs && i < pairs->size(); ++i) {
        heldout_rows.push_back(i);
    }
    const bool selecting = o.max_drift >= 0 || !heldout_rows.empty();
    ModelSelection selection;
    const auto best_path = o.run_dir / "best.safetensors";

    auto optimizer = generator_adamw(*policy, o.lr);
    const auto lo = generator_loop_options(o.source == DpoPairSource::SyncDpo ? "syncdpo" : "dpo", o, o.ema_decay,
                                           policy->config().to_json());
    TrainLoop loop(lo, *policy, *optimizer, o.source == DpoPairSource::SyncDpo ? &clip_sampler : nullptr);
    flow::AutoBeta auto_beta = o.auto_beta_options;
    loop.set_extra_state(
        [&] {
            return TrainLoop::ExtraState{{"auto_beta_margin_ema", auto_beta.margin_ema},
                                         {"auto_beta_updates", double(auto_beta.updates)},
                                         {"best_step", double(selection.best_step)},
                                         {"best_accuracy", selection.best_accuracy},
                                         {"validations_since_best", double(selection.since_best)}};
        },
        [&](const TrainLoop::ExtraState& e) {
            auto get = [&](const char* k) { return e.count(k) ? e.at(k) : 0.0; };
            auto_beta.margin_ema = get("auto_beta_margin_ema");
            auto_beta.updates = int64_t(get("auto_beta_updates"));
            selection.best_step = int64_t(get("best_step"));
            selection.best_accuracy = e.count("best_accuracy") ? e.at("best_accuracy") : -1.0;
            selection.since_best = int64_t(get("validations_since_best"));
        });
    flow::FlowMatching fm;
    pairs::NegativeCurriculum negatives;
    negatives.stages = o.syncdpo_stages;
    negatives.token_rate = double(policy->net->latent_seq_len()) / policy->duration();
    WindowMeans window;
    double last_accuracy = 0.0;

    const auto start = std::chrono::steady_clock::now();
    loop.run(
        [&](int64_t step, torch::Generator& rng) {
            std::vector<int64_t> clip_rows;
            torch::Tensor x1w, x1l;
            double stage = 0;
            if (o.source == DpoPairSource::Pairs) {
                const bool first = step < s1_steps;
                stage = first ? 1 : 2;
                auto rows = first ? stage1.at(step, o.batch_size) : stage2.at(step - s1_steps, o.batch_size);
                for (int64_t r : rows) clip_rows.push_back(cond_row[size_t(r)]);
                x1w = pairs->winners(rows);
                x1l = pairs->losers(rows);
            } else {
                clip_rows = clip_sampler.next();
                const int band = o.syncdpo_first_stage +
                                 pairs::negative_stage(step, o.steps, o.syncdpo_stages - o.syncdpo_first_stage);
                stage = band + 1;
                auto idx = torch::tensor(clip_rows, torch::kInt64);
                x1w = sample_x1(policy, *train_set, idx, rng);
                std::vector<torch::Tensor> neg;
                for (int64_t b = 0; b < x1w.size(0); ++b) {
                    // "Other" clip for the replace strategy: the next row of the batch.
                    auto other = x1w[(b + 1) % x1w.size(0)];
                    neg.push_back(pairs::sample_negative(x1w[b], band, x1w.size(0) > 1 ? other : torch::Tensor(),
                                                         negatives, rng)
                                      .latent);
                }
                x1l = torch::stack(neg);
            }
            // Data parallel: the pairs, negatives and noise above/below are the global batch's; the
            // networks run on this rank's slice of rows (dist::shard_rows; identity in one process).
            const auto local_rows = dist::shard_rows(clip_rows, "--batch");
            x1l = dist::shard_rows(x1l);
            const auto frames = conditions.frames(local_rows);
            const auto captions = conditions.captions(local_rows);
            const AutocastScope precision(o.precision);  // the forward; backward follows the graph
            const auto f_pol = twice(policy->encode(frames, captions));
            model::ConditionFeatures f_ref;
            {
                torch::NoGradGuard ng;
                f_ref = twice(reference->encode(frames, captions));
            }
            torch::Tensor loss;
            std::map<std::string, double> m;
            const int64_t b = x1l.size(0);
            const double beta = o.auto_beta ? auto_beta.beta() : o.beta;
            for (int d = 0; d < o.draws; ++d) {
                auto w = flow::shard_rows(fm.draw(x1w, rng));
                auto l = fm.prepare(w.x0, x1l, w.t);
                auto x_t = torch::cat({w.x_t, l.x_t}), t = torch::cat({w.t, w.t});
                auto target = torch::cat({w.target, l.target});
                auto v_pol = policy->velocity(x_t, t, f_pol);
                auto e_pol = flow::per_sample_mse(v_pol, target);
                torch::Tensor e_ref;
                {
                    torch::NoGradGuard ng;
                    e_ref = flow::per_sample_mse(reference->velocity(x_t, t, f_ref), target);
                }
                const double inv = 1.0 / double(o.draws);
                auto e_pol_l = e_pol.narrow(0, b, b);
                if (o.sdpo_mu >= 0) {
                    auto scale = flow::sdpo_loser_scale(v_pol.narrow(0, 0, b), target.narrow(0, 0, b),
                                                        v_pol.narrow(0, b, b), target.narrow(0, b, b), o.sdpo_mu);
                    e_pol_l = flow::scale_gradient(e_pol_l, scale);
                    m["sdpo_scale"] += scale.mean().item<double>() * inv;
                }
                torch::Tensor kept;  // [b] 1 where the pair's t is in the preference range (--pref-t-max)
                if (o.pref_t_max < 1.0) {
                    kept = w.t.le(o.pref_t_max).to(torch::kFloat);
                    m["pref_kept"] += kept.mean().item<double>() * inv;
                }
                auto terms = flow::flow_dpo_loss(e_pol.narrow(0, 0, b), e_ref.narrow(0, 0, b), e_pol_l,
                                                 e_ref.narrow(0, b, b), beta, kept, o.label_smoothing);
                auto part = terms.loss;
                if (o.sft_weight > 0) part = part + o.sft_weight * e_pol.narrow(0, 0, b).mean();
                part = part / double(o.draws);
                loss = loss.defined() ? loss + part : part;
                m["gradient_factor"] += terms.gradient_factor.item<double>() * inv;
                m["negative_share"] += terms.negative_share.item<double>() * inv;
                m["raw_margin"] += terms.raw_margin.item<double>() * inv;
                m["implicit_acc"] += terms.accuracy.item<double>() * inv;
                m["reward_margin"] += terms.reward_margin.item<double>() * inv;
                m["chosen_reward"] += terms.chosen_reward.item<double>() * inv;
                m["rejected_reward"] += terms.rejected_reward.item<double>() * inv;
                m["model_w_err"] += terms.model_w_err.item<double>() * inv;
                m["ref_w_err"] += terms.ref_w_err.item<double>() * inv;
                m["model_l_err"] += terms.model_l_err.item<double>() * inv;
                m["ref_l_err"] += terms.ref_l_err.item<double>() * inv;
                m["dpo_loss"] += terms.loss.item<double>() * inv;
            }
            if (o.gt_anchor > 0) {
                // The batch's clips' ground truth (posterior samples, as SFT draws them), conditioned as SFT
                // is but without condition dropout: the preference term cannot pull the model off the data.
                auto x1 = sample_x1(policy, *train_set, torch::tensor(clip_rows, torch::kInt64), rng);
                auto g = flow::shard_rows(fm.draw(x1, rng));
                model::ConditionFeatures f_one{f_pol.clip_f.narrow(0, 0, b), f_pol.sync_f.narrow(0, 0, b),
                                               f_pol.text_f.narrow(0, 0, b)};
                auto anchor = flow::per_sample_mse(policy->velocity(g.x_t, g.t, f_one), g.target).mean();
                loss = loss + o.gt_anchor * anchor;
                m["gt_anchor_loss"] = anchor.item<double>();
            }
            m = dist::all_reduce_mean(m);  // the global batch's means (auto-beta reads the margin)
            m["stage"] = stage;
            m["beta"] = beta;
            if (o.auto_beta) auto_beta.update(m["raw_margin"]);
            window.add(m);
            StepResult result{loss, {}, b};
            if ((step + 1) % o.log_every == 0 || step + 1 == o.steps) {
                result.metrics = window.take();
                last_accuracy = result.metrics["implicit_acc"];
            }
            return result;
        },
        [&] {
            std::map<std::string, double> v{{"heldout_flow_loss", heldout_flow_loss(policy, val_set)}};
            v["heldout_drift"] = v["heldout_flow_loss"] / drift_base - 1.0;
            if (!heldout_rows.empty()) {
                v["heldout_pair_acc"] = heldout_pair_accuracy(policy, reference, *pairs, heldout_rows, cond_row,
                                                              conditions, o.beta);
            }
            if (!selecting) return v;
            const bool within = o.max_drift < 0 || v["heldout_drift"] <= o.max_drift;
            const double acc = heldout_rows.empty() ? 0.0 : v["heldout_pair_acc"];
            if (within && (heldout_rows.empty() || acc > selection.best_accuracy)) {
                selection.best_step = loop.step();
                selection.best_accuracy = acc;
                selection.since_best = 0;
                if (dist::is_writer()) flow::save_generator(best_path, policy);
            } else {
                ++selection.since_best;
            }
            dist::barrier();  // best.safetensors is on disk before any rank can read it
            v["selected_step"] = double(selection.best_step);
            if (!within) {
                V2A_LOG_INFO("dpo: held-out flow loss %.4f is %.1f%% above the baseline (bound %.1f%%): stopping",
                             v["heldout_flow_loss"], 100.0 * v["heldout_drift"], 100.0 * o.max_drift);
                loop.request_stop();
            } else if (o.patience > 0 && selection.since_best >= o.patience) {
                V2A_LOG_INFO("dpo: held-out pair accuracy has not improved for %lld validations: stopping",
                             (long long)selection.since_best);
                loop.request_stop();
            }
            return v;
        });

    DpoResult result;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.samples_per_second = loop.throughput();
    result.stopped_early = loop.stopped_early();
    result.exported_step = loop.step();
    if (selecting) {
        // The selected validation's weights; the reference when no validation passed the drift bound.
        result.exported_step = selection.best_step;
        if (selection.best_step > 0) {
            io::load_state_dict(*policy, io::state_dict(*flow::load_generator(best_path)), true, "best");
        } else {
            io::load_state_dict(*policy, io::state_dict(*reference), true, "reference");
            V2A_LOG_WARN("dpo: no validation passed the selection rule; exporting the reference unchanged");
        }
    } else if (loop.ema()) {
        io::load_state_dict(*policy, loop.ema()->state(), true, "EMA");
    }
    result.heldout_loss_init = heldout_init;
    result.heldout_loss = heldout_flow_loss(policy, val_set);
    if (!heldout_rows.empty()) {
        result.heldout_accuracy =
            heldout_pair_accuracy(policy, reference, *pairs, heldout_rows, cond_row, conditions, o.beta);
    }
    result.final_accuracy = last_accuracy;
    result.model_path = o.run_dir / "generator.safetensors";
    if (dist::is_writer()) flow::save_generator(result.model_path, policy);
    const nlohmann::json summary = {{"heldout_loss_init", result.heldout_loss_init},
                                    {"heldout_loss", result.heldout_loss},
                                    {"heldout_drift", result.heldout_loss / drift_base - 1.0},
                                    {"drift_baseline", drift_base},
                                    {"heldout_pair_accuracy", result.heldout_accuracy},
                                    {"final_train_accuracy", result.final_accuracy},
                                    {"exported_step", result.exported_step},
                                    {"steps_trained", loop.step()},
                                    {"stopped_early", result.stopped_early},
                                    {"seconds", result.seconds}};
    if (dist::is_writer()) fs::write_atomic(o.run_dir / "result.json", summary.dump(2) + "\n");
    dist::barrier();  // the run's files exist for every rank when train_dpo returns
    V2A_LOG_INFO("dpo: held-out flow-matching loss %.4f -> %.4f; implicit accuracy (last window) %.3f; exported "
                 "step %lld; wrote %s",
                 heldout_init, result.heldout_loss, last_accuracy, (long long)result.exported_step,
                 result.model_path.string().c_str());
    return result;
}

}  // namespace v2a::train
