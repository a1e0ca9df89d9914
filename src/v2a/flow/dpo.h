// Flow-DPO loss (pure maths on per-sample errors; the training loop lives in train/).
//
// Inputs are per-pair errors e = mean over non-batch elements of (v_pred - v_target)^2 (see
// per_sample_mse), with winner and loser noised with the SAME noise x0 and time t:
//   z    = -(beta / 2) * [(e_theta_w - e_ref_w) - (e_theta_l - e_ref_l)]
//   loss = mean_B softplus(-z) = mean_B -log sigmoid(z)
// This is exactly flow_grpo's train_sd3_dpo.py ("inside_term") and Diffusion-DPO's train.py; the
// only convention difference between them is the velocity target (flow_grpo: eps - x0 in its
// sigma time, ours: x1 - x0), which squared errors make irrelevant. Not covered: Curriculum-DPO's
// LCM variant (no 1/2 factor) and Diffusion-DPO's paper form with T * omega(lambda_t), which the
// code folds into the constant beta. Reference errors are treated as constants (detached), as the
// reference runs under no_grad in both codes. beta is per-element-mean calibrated: Flow-DPO uses 100.
#pragma once
#include <torch/types.h>

namespace v2a::flow {

struct DpoTerms {
    torch::Tensor loss;             // scalar, differentiable in e_theta_w / e_theta_l
    torch::Tensor z;                // [B] implicit reward margin per pair ("inside_term")
    torch::Tensor accuracy;         // scalar, mean(z > 0) ("implicit_acc")
    torch::Tensor reward_margin;    // scalar, mean(z)
    torch::Tensor chosen_reward;    // scalar, mean(-(beta/2) (e_theta_w - e_ref_w))
    torch::Tensor rejected_reward;  // scalar, mean(-(beta/2) (e_theta_l - e_ref_l))
    torch::Tensor model_w_err;      // scalar means of the four errors (logged by flow_grpo)
    torch::Tensor ref_w_err;
    torch::Tensor model_l_err;
    torch::Tensor ref_l_err;
    torch::Tensor gradient_factor;  // scalar, mean sigma(-z): how much the loss still teaches (0 = saturated)
    torch::Tensor negative_share;   // scalar, mean(z < 0): pairs the policy ranks against the label
    torch::Tensor raw_margin;       // scalar, mean |(e_theta_w - e_ref_w) - (e_theta_l - e_ref_l)| (beta-free)
};

/// All errors [B]. `weights` ([B], optional) multiplies each pair's loss before the mean (VideoDPO
/// re-weighting); the mean stays the plain mean over B, taken OUTSIDE the log-sigmoid (per-pair
/// losses, then their mean: diffusers#6702's bug was the other order). `label_smoothing` eps in
/// [0, 0.5) is conservative DPO (cDPO / TRL's label_smoothing): loss = (1 - eps) softplus(-z) +
/// eps softplus(z), the expected loss when a pair's label is flipped with probability eps. Throws
/// v2a::Error(Usage) on shape mismatches, a non-finite / non-positive beta or eps out of range.
DpoTerms flow_dpo_loss(const torch::Tensor& e_theta_w, const torch::Tensor& e_ref_w, const torch::Tensor& e_theta_l,
                       const torch::Tensor& e_ref_l, double beta, const torch::Tensor& weights = {},
                       double label_smoothing = 0.0);

/// Diffusion-SDPO's winner-preserving loser scale (AIDC-AI/Diffusion-SDPO train.py), per pair [B]:
/// with output-space gradients g_w = v_w - u_w and g_l = v_l - u_l of the winner's and loser's
/// errors (the common factor 2/N cancels), lambda = clamp((1 - mu) |g_w|^2 / (g_l . g_w), 0, 1) when
/// g_l . g_w > 0, else 1. A step along -g_w + lambda g_l then still lowers the winner's error by at
/// least mu of what -g_w alone would. Detached. v*, u* are [B, ...] of one shape; mu in [0, 1].
torch::Tensor sdpo_loser_scale(const torch::Tensor& v_w, const torch::Tensor& u_w, const torch::Tensor& v_l,
                               const torch::Tensor& u_l, double mu);

/// e with its gradient scaled per row by `scale` [B] and its value unchanged:
/// e.detach() + scale * (e - e.detach()).
torch::Tensor scale_gradient(const torch::Tensor& e, const torch::Tensor& scale);

/// SimpleTuner's auto-beta: beta = -2 logit(g*) / EMA(|raw margin|), clamped to [min_beta, max_beta],
/// so that a typical pair sits where the gradient factor sigma(-z) is g* (z = beta |m| / 2). The
/// beta of a step uses the EMA of the earlier steps (max_beta at the first: policy = reference gives
/// margin 0), then the step's margin enters the EMA.
struct AutoBeta {
    double target_factor = 0.2;           // g*
    double decay = 0.99;                  // EMA decay of |raw margin|
    double min_beta = 10.0, max_beta = 1e5;  // v2a dpo sets max_beta to --beta: auto-beta only lowers it
    double margin_ema = 0.0;              // state (checkpointed by the trainer)
    int64_t updates = 0;
    double beta() const;
    void update(double abs_raw_margin);
    /// Throws v2a::Error(Usage) naming the bad option.
    void validate() const;
};

}  // namespace v2a::flow
