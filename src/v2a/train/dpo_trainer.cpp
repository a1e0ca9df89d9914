#include "v2a/train/dpo_trainer.h"

#include <chrono>
#include <map>

#include "v2a/core/error.h"
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

}  // namespace

DpoResult train_dpo(const pairs::PairSet* pairs, const io::ClipDataset& conditions, const io::ClipDataset& val,
                    const DpoOptions& o) {
    V2A_CHECK(!o.init.empty(), Usage, "dpo: --init (the SFT generator) is required");
    V2A_CHECK(!o.vae_path.empty(), Usage, "dpo: --vae is required");
    V2A_CHECK(o.source == DpoPairSource::SyncDpo || (pairs != nullptr && pairs->size() > 0), Usage,
              "dpo: no preference pairs");
    V2A_CHECK(o.steps >= 1 && o.batch_size >= 1 && o.draws >= 1, Usage, "dpo: steps, batch and draws must be >= 1");
    V2A_CHECK(o.tau >= -1.0 && o.tau <= 1.0, Usage, "dpo: tau must be in [-1, 1], got ", o.tau);
    torch::manual_seed(o.seed);
    auto policy = flow::load_generator(o.init);
    auto reference = flow::load_generator(o.init);
    policy->train();
    reference->eval();
    for (auto& p : reference->parameters()) p.set_requires_grad(false);
    auto vae = audio::load_vae(o.vae_path);

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
        if (o.curriculum) {
            split = pairs::split_by_complexity(pairs->complexities(), o.tau, o.cumulative);
        } else {
            for (int64_t i = 0; i < pairs->size(); ++i) split.stage2.push_back(i);
        }
        s1_steps = pairs::stage1_steps(o.steps, int64_t(split.stage1.size()), int64_t(split.stage2.size()),
                                       o.curriculum ? o.stage1_fraction : 0.0);
        V2A_LOG_INFO("dpo: %lld pairs; %s: stage 1 (c > %.2f) %zu pairs for %lld steps, stage 2 %zu pairs for %lld steps",
                     (long long)pairs->size(), o.curriculum ? "curriculum" : "mixed", o.tau, split.stage1.size(),
                     (long long)s1_steps, split.stage2.size(), (long long)(o.steps - s1_steps));
    }
    StageSampler stage1(split.stage1, o.batch_size, o.seed * 2 + 1), stage2(split.stage2, o.batch_size, o.seed * 2 + 2);
    BatchSampler clip_sampler(conditions.size(), o.batch_size, o.seed);  // SyncDPO: ground-truth clips
    std::unique_ptr<LatentSet> train_set;
    if (o.source == DpoPairSource::SyncDpo) train_set = std::make_unique<LatentSet>(make_latent_set(vae, conditions));
    const LatentSet val_set = make_latent_set(vae, val);
    const double heldout_init = heldout_flow_loss(reference, val_set);
    V2A_LOG_INFO("dpo: reference held-out flow-matching loss %.4f", heldout_init);

    auto optimizer = generator_adamw(*policy, o.lr);
    const auto lo = generator_loop_options(o.source == DpoPairSource::SyncDpo ? "syncdpo" : "dpo", o, o.ema_decay,
                                           policy->config().to_json());
    TrainLoop loop(lo, *policy, *optimizer, o.source == DpoPairSource::SyncDpo ? &clip_sampler : nullptr);
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
                const int band = pairs::negative_stage(step, o.steps, o.syncdpo_stages);
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
            const auto frames = conditions.frames(clip_rows);
            const auto captions = conditions.captions(clip_rows);
            const auto f_pol = twice(policy->encode(frames, captions));
            model::ConditionFeatures f_ref;
            {
                torch::NoGradGuard ng;
                f_ref = twice(reference->encode(frames, captions));
            }
            torch::Tensor loss;
            std::map<std::string, double> m;
            const int64_t b = x1w.size(0);
            for (int d = 0; d < o.draws; ++d) {
                auto w = fm.draw(x1w, rng);
                auto l = fm.prepare(w.x0, x1l, w.t);
                auto x_t = torch::cat({w.x_t, l.x_t}), t = torch::cat({w.t, w.t});
                auto target = torch::cat({w.target, l.target});
                auto e_pol = flow::per_sample_mse(policy->velocity(x_t, t, f_pol), target);
                torch::Tensor e_ref;
                {
                    torch::NoGradGuard ng;
                    e_ref = flow::per_sample_mse(reference->velocity(x_t, t, f_ref), target);
                }
                auto terms = flow::flow_dpo_loss(e_pol.narrow(0, 0, b), e_ref.narrow(0, 0, b), e_pol.narrow(0, b, b),
                                                 e_ref.narrow(0, b, b), o.beta);
                auto part = terms.loss;
                if (o.sft_weight > 0) part = part + o.sft_weight * e_pol.narrow(0, 0, b).mean();
                part = part / double(o.draws);
                loss = loss.defined() ? loss + part : part;
                const double inv = 1.0 / double(o.draws);
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
            m["stage"] = stage;
            window.add(m);
            StepResult result{loss, {}, b};
            if ((step + 1) % o.log_every == 0 || step + 1 == o.steps) {
                result.metrics = window.take();
                last_accuracy = result.metrics["implicit_acc"];
            }
            return result;
        },
        [&] { return std::map<std::string, double>{{"heldout_flow_loss", heldout_flow_loss(policy, val_set)}}; });

    DpoResult result;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.samples_per_second = loop.throughput();
    if (loop.ema()) io::load_state_dict(*policy, loop.ema()->state(), true, "EMA");
    result.heldout_loss_init = heldout_init;
    result.heldout_loss = heldout_flow_loss(policy, val_set);
    result.final_accuracy = last_accuracy;
    result.model_path = o.run_dir / "generator.safetensors";
    flow::save_generator(result.model_path, policy);
    V2A_LOG_INFO("dpo: held-out flow-matching loss %.4f -> %.4f; implicit accuracy (last window) %.3f; wrote %s",
                 heldout_init, result.heldout_loss, last_accuracy, result.model_path.string().c_str());
    return result;
}

}  // namespace v2a::train
