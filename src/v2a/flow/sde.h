// Stochastic sampling with per-step log-probabilities (Flow-GRPO's ODE -> SDE conversion,
// yifan123/flow_grpo flow_grpo/diffusers_patch/sd3_sde_with_logprob.py facts), for DDPO/GRPO-style
// policy gradients on a flow-matching model.
//
// Our time t (0 noise, 1 data) maps to Flow-GRPO's sigma = 1 - t (1 noise, 0 data) and our
// velocity v = dx/dt to theirs v_fg = dx/dsigma = -v. For a step sigma -> sigma' (dt = sigma' - sigma < 0):
//   std_t = a * sqrt(sigma / (1 - sigma~)),   sigma~ = sigma_max if sigma == 1 else sigma
//   mean  = x * (1 + std_t^2 / (2 sigma) * dt) + v_fg * (1 + std_t^2 (1 - sigma) / (2 sigma)) * dt
//   x'    = mean + std_t * sqrt(-dt) * z,      z ~ N(0, I)
//   log p = mean over non-batch elements of
//           -(x' - mean)^2 / (2 (std_t sqrt(-dt))^2) - log(std_t sqrt(-dt)) - log sqrt(2 pi)
// sigma_max is Flow-GRPO's sigmas[1], the grid's second sigma = 1 - t_grid[1]. a = 0 gives the
// Euler step x' = x + v (t' - t). Everything is computed in fp32 (fp64 for fp64 inputs), as the
// reference does because bf16 overflows here. The log-probability is a per-element MEAN (not a
// sum), which is why PPO clip ranges on it are tiny (1e-4).
// Shapes: x, v, x' [B, N, C]; t, t' [B] (per row, so DDPO can shuffle steps per sample).
#pragma once
#include <torch/types.h>

#include "v2a/flow/sampler.h"
#include "v2a/flow/velocity.h"

namespace v2a::flow {

struct SdeOptions {
    double noise_level = 0.7;  // Flow-GRPO "a"; 0 = deterministic Euler (evaluation)
};

/// Result of one SDE step (sampled, or evaluated at a supplied x').
struct SdeStepResult {
    torch::Tensor next;      // [B, N, C] x'
    torch::Tensor log_prob;  // [B] log p(x' | x); undefined when noise_level == 0 (a point mass)
    torch::Tensor mean;      // [B, N, C] step mean
    torch::Tensor std_t;     // [B] Flow-GRPO std_dev_t (what its KL divides by)
    torch::Tensor step_std;  // [B] std_t * sqrt(t' - t): the std of x' given x
};

class SdeStep {
public:
    explicit SdeStep(SdeOptions options = {});

    /// Mean and stds of p(x' | x) for guided velocity v. Throws v2a::Error(Usage) unless
    /// 0 <= t < t' <= 1 row-wise, 0 <= sigma_max < 1 and shapes agree.
    SdeStepResult moments(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& t,
                          const torch::Tensor& t_next, double sigma_max) const;

    /// Samples x' = mean + step_std * z with z [B, N, C] drawn from `generator`, and its log p.
    SdeStepResult sample(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& t,
                         const torch::Tensor& t_next, double sigma_max, torch::Generator& generator) const;

    /// log p(next | x) under velocity v (the PPO ratio's numerator when v is the current policy's
    /// guided velocity); differentiable in v, `next` is detached. Throws v2a::Error(Usage) when
    /// noise_level == 0 (no density).
    SdeStepResult log_prob(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& t,
                           const torch::Tensor& t_next, double sigma_max, const torch::Tensor& next) const;

    const SdeOptions& options() const { return options_; }

private:
    SdeOptions options_;
};

/// Closed-form KL between two Gaussians with equal isotropic std and means mean_a, mean_b
/// [B, ...], averaged over non-batch elements: mean((mean_a - mean_b)^2) / (2 std^2) -> [B].
/// std [B]. Flow-GRPO's L_KL passes std_t (SdeStepResult::std_t); the exact per-element KL of
/// the step densities passes step_std = std_t sqrt(t' - t) (a larger value by 1/(t' - t)).
torch::Tensor gaussian_mean_kl(const torch::Tensor& mean_a, const torch::Tensor& mean_b, const torch::Tensor& std);

/// One stored transition of a trajectory (the unit a policy-gradient update works on).
struct SdeTransition {
    torch::Tensor x;         // [B, N, C] x_i
    torch::Tensor next;      // [B, N, C] x_{i+1}
    torch::Tensor t;         // [B] t_i
    torch::Tensor t_next;    // [B] t_{i+1}
    torch::Tensor log_prob;  // [B] log p_old(x_{i+1} | x_i) at sampling time
    double sigma_max = 0.0;
};

struct SdeTrajectory {
    torch::Tensor latents;    // [B, S + 1, N, C]: x_0 (noise) ... x_S (the sample)
    torch::Tensor log_probs;  // [B, S] (undefined when noise_level == 0)
    torch::Tensor timesteps;  // [B, S + 1] t_i, the grid repeated per row (time_options dtype)
    double sigma_max = 0.0;   // 1 - grid[1]

    int64_t steps() const { return log_probs.defined() ? log_probs.size(1) : latents.size(1) - 1; }
    torch::Tensor final_sample() const { return latents.select(1, latents.size(1) - 1); }
    /// Step i in [0, steps()); throws v2a::Error(Usage) when out of range.
    SdeTransition transition(int64_t i) const;
};

struct SdeSamplerOptions {
    int steps = 10;             // Flow-GRPO trains on 10 SDE steps (40 for evaluation)
    double cfg_strength = 4.5;  // same CFG as the ODE sampler, applied before the step
    double noise_level = 0.7;
};

class SdeSampler {
public:
    explicit SdeSampler(SdeSamplerOptions options = {});

    /// Runs the stochastic sampler from x0 [B, N, C] (t = 0) on linspace(0, 1, steps + 1), drawing
    /// each step's noise from `generator`, and records every transition.
    SdeTrajectory run(VelocityField& field, const torch::Tensor& x0, torch::Generator& generator,
                      const StepCallback& callback = {}) const;
    /// Draws x0 [batch, tokens, channels] first, then runs (same generator state -> same trajectory).
    SdeTrajectory sample(VelocityField& field, int64_t batch, int64_t tokens, int64_t channels,
                         torch::Generator& generator, const torch::TensorOptions& options = torch::kFloat,
                         const StepCallback& callback = {}) const;

    /// log p_theta(next | x) of a stored transition under `field` (the current policy), with the
    /// same CFG as at sampling: result.log_prob [B], differentiable through the field's velocity.
    SdeStepResult recompute(VelocityField& field, const SdeTransition& transition) const;

    const SdeSamplerOptions& options() const { return options_; }

private:
    SdeSamplerOptions options_;
    SdeStep step_;
};

}  // namespace v2a::flow
