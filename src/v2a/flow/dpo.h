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
};

/// All errors [B]. `weights` ([B], optional) multiplies each pair's loss before the mean (VideoDPO
/// re-weighting); the mean stays the plain mean over B. Throws v2a::Error(Usage) on shape
/// mismatches or a non-finite / non-positive beta.
DpoTerms flow_dpo_loss(const torch::Tensor& e_theta_w, const torch::Tensor& e_ref_w, const torch::Tensor& e_theta_l,
                       const torch::Tensor& e_ref_l, double beta, const torch::Tensor& weights = {});

}  // namespace v2a::flow
