#include "v2a/train/ddpo_trainer.h"

#include <chrono>
#include <cmath>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/judge/clip_measures.h"
#include "v2a/core/log.h"
#include "v2a/flow/generator.h"
#include "v2a/flow/pipeline.h"
#include "v2a/flow/sde.h"
#include "v2a/score/audio_score.h"
#include "v2a/train/sft_trainer.h"
#include "v2a/train/train_loop.h"

namespace v2a::train {

namespace {

// (r - mean) / (std + 1e-4) within each group of k consecutive rows, clipped.
torch::Tensor group_advantages(const torch::Tensor& rewards, int64_t k, double clip) {
    auto r = rewards.to(torch::kDouble).reshape({-1, k});
    auto a = (r - r.mean(1, true)) / (r.std(1, false, true) + 1e-4);
    return a.clamp(-clip, clip).reshape({-1}).to(torch::kFloat);
}

}  // namespace

DdpoResult train_ddpo(const io::ClipDataset& videos, const io::ClipDataset& val, const DdpoOptions& o) {
    V2A_CHECK(!o.init.empty() && !o.vae_path.empty() && !o.judges_dir.empty() && !o.audioscore_path.empty(), Usage,
              "ddpo: --init, --vae, --judges and --audioscore are required");
    V2A_CHECK(o.samples_per_video >= 2, Usage, "ddpo: need >= 2 samples per video for the advantage");
    V2A_CHECK(o.timestep_fraction > 0 && o.timestep_fraction <= 1, Usage, "ddpo: timestep fraction must be in (0, 1]");
    V2A_CHECK(o.noise_level > 0, Usage, "ddpo: noise level must be > 0 (the policy needs a density)");
    torch::manual_seed(o.seed);
    auto policy = flow::load_generator(o.init);
    policy->train();
    flow::V2AGenerator reference{nullptr};
    if (o.kl_weight > 0) {
        reference = flow::load_generator(o.init);
        for (auto& p : reference->parameters()) p.set_requires_grad(false);
    }
    // The conditioning encoders stay fixed (their features are computed without gradients).
    for (auto& p : policy->cond->parameters()) p.set_requires_grad(false);
    auto vae = audio::AnyVae::load(o.vae_path);
    flow::Pipeline pipeline(policy, vae,
                            std::make_unique<audio::GriffinLimVocoder>(audio::MelOptions{}, audio::GriffinLimOptions{}));
    auto scorer = score::AudioScorer::load(o.judges_dir, o.audioscore_path);
    const LatentSet val_set = make_latent_set(vae, val);
    const double heldout_init = heldout_flow_loss(policy, val_set);

    auto optimizer = generator_adamw(*policy, o.lr);
    BatchSampler sampler(videos.size(), o.videos_per_step, o.seed);
    const auto lo = generator_loop_options("ddpo", o, 0.0, policy->config().to_json());  // no EMA in RL
    TrainLoop loop(lo, *policy, *optimizer, &sampler);
    flow::SdeSamplerOptions so;
    so.steps = o.sde_steps;
    so.cfg_strength = o.cfg;
    so.noise_level = o.noise_level;
    const flow::SdeSampler sde(so);
    const flow::SdeStep step_density(flow::SdeOptions{o.noise_level});
    const int64_t k = o.samples_per_video;
    const int train_steps = std::max(1, int(double(o.sde_steps) * o.timestep_fraction));
    DdpoResult result;
    bool first_round = true;

    const auto start = std::chrono::steady_clock::now();
    loop.run(
        [&](int64_t step, torch::Generator& loop_rng) {
            // Data parallel: each rank rolls out its own videos (a video's K samples stay on one rank,
            // so group advantages are unchanged) with randomness of its own.
            torch::Generator rank_rng = at::detail::createCPUGenerator(dist::rank_seed(o.seed, step));
            torch::Generator& rng = dist::active() ? rank_rng : loop_rng;
            std::vector<int64_t> rows;
            for (int64_t v : dist::shard_rows(sampler.next(), "--videos-per-step")) {
                for (int64_t j = 0; j < k; ++j) rows.push_back(v);
            }
            const auto frames = videos.frames(rows);
            const auto captions = videos.captions(rows);
            const int64_t b = int64_t(rows.size());
            model::ConditionFeatures feats, nulls;
            flow::SdeTrajectory traj;
            torch::Tensor rewards;
            {
                torch::NoGradGuard ng;
                feats = policy->encode(frames, captions);
                nulls = policy->null_features(b);
                flow::GeneratorVelocity field(policy, feats, nulls);
                traj = sde.sample(field, b, policy->net->latent_seq_len(), policy->config().network.latent_dim, rng);
                const auto audio = judge::crop_or_pad(pipeline.latents_to_audio(traj.final_sample()), videos.n_samples());
                rewards = scorer.probabilities(score::score_inputs(videos, rows, audio)).select(1, 0).to(torch::kFloat);  // P(Good)
            }
            const auto adv = group_advantages(rewards, k, o.adv_clip);
            double policy_loss = 0, kl_loss = 0, approx_kl = 0, clipfrac = 0;
            torch::Tensor last;
            for (int j = 0; j < train_steps; ++j) {
                const auto tr = traj.transition(j);
                flow::GeneratorVelocity field(policy, feats, nulls);  // conditions re-projected inside the graph
                auto now = sde.recompute(field, tr);
                auto ratio = torch::exp(now.log_prob - tr.log_prob);
                auto unclipped = -adv * ratio;
                auto clipped = -adv * ratio.clamp(1.0 - o.clip_range, 1.0 + o.clip_range);
                auto loss = torch::max(unclipped, clipped).mean();
                policy_loss += loss.item<double>() / train_steps;
                if (o.kl_weight > 0) {
                    torch::Tensor ref_mean;
                    {
                        torch::NoGradGuard ng;
                        flow::GeneratorVelocity ref_field(reference, feats, nulls);
                        auto v_ref = flow::guided_velocity(ref_field, tr.x, tr.t, o.cfg);
                        ref_mean = step_density.moments(tr.x, v_ref, tr.t, tr.t_next, tr.sigma_max).mean;
                    }
                    auto kl = flow::gaussian_mean_kl(now.mean, ref_mean, now.std_t).mean();
                    kl_loss += kl.item<double>() / train_steps;
                    loss = loss + o.kl_weight * kl;
                }
                {
                    torch::NoGradGuard ng;
                    auto diff = now.log_prob.detach() - tr.log_prob;
                    approx_kl += 0.5 * diff.square().mean().item<double>() / train_steps;
                    clipfrac += (ratio.detach() - 1.0).abs().gt(o.clip_range).to(torch::kFloat).mean().item<double>() /
                                train_steps;
                }
                loss = loss / double(train_steps);
                // Gradients accumulate over the timesteps; the loop backpropagates the last one.
                if (j + 1 < train_steps) {
                    loss.backward();
                } else {
                    last = loss;
                }
            }
            const double mean_reward = dist::all_reduce_sum(rewards.mean().item<double>()) / dist::world_size();
            if (first_round) result.first_reward = mean_reward, first_round = false;
            result.last_reward = mean_reward;
            StepResult out{last, {}, b};
            out.metrics = {{"reward_mean", mean_reward},
                           {"reward_std", rewards.std().item<double>()},
                           {"policy_loss", policy_loss},
                           {"kl_loss", kl_loss},
                           {"approx_kl", approx_kl},
                           {"clipfrac", clipfrac}};
            return out;
        },
        [&] { return std::map<std::string, double>{{"heldout_flow_loss", heldout_flow_loss(policy, val_set)}}; });

    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.heldout_loss_init = heldout_init;
    result.heldout_loss = heldout_flow_loss(policy, val_set);
    result.model_path = o.run_dir / "generator.safetensors";
    for (auto& p : policy->cond->parameters()) p.set_requires_grad(true);
    if (dist::is_writer()) flow::save_generator(result.model_path, policy);
    dist::barrier();
    V2A_LOG_INFO("ddpo: mean P(Good) %.3f -> %.3f; held-out flow loss %.4f -> %.4f; wrote %s", result.first_reward,
                 result.last_reward, heldout_init, result.heldout_loss, result.model_path.string().c_str());
    return result;
}

}  // namespace v2a::train
