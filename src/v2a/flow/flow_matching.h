// Conditional flow matching for training (MMAudio, mmaudio/model/flow_matching.py facts):
//   x0 ~ N(0, I) noise, x1 = data latent, t ~ sigmoid(N(mean, scale)) (logit-normal)
//   x_t    = (1 - (1 - min_sigma) t) x0 + t x1
//   target = x1 - (1 - min_sigma) x0
//   loss   = mean over (N, C) of (v_pred - target)^2 per sample -> [B]; the caller takes the batch mean.
// Plus classifier-free-guidance condition dropout for training.
// Shapes: B batch, N latent tokens, C latent channels. Times t are [B] in the dtype of x.
#pragma once
#include <torch/types.h>

#include <cstdint>

namespace v2a::flow {

struct FlowMatchingOptions {
    double min_sigma = 0.0;    // MMAudio: 0 (straight path from noise to data)
    double logit_mean = 0.0;   // t = sigmoid(N(logit_mean, logit_scale)); median sigmoid(mean)
    double logit_scale = 1.0;
};

/// One training example batch: every tensor is a function of (x1, generator state) only.
struct FlowSample {
    torch::Tensor x0;      // [B, N, C] noise
    torch::Tensor t;       // [B]
    torch::Tensor x_t;     // [B, N, C] network input
    torch::Tensor target;  // [B, N, C] velocity target
};

class FlowMatching {
public:
    explicit FlowMatching(FlowMatchingOptions options = {});

    /// x0, x1 [B, ...], t [B] -> x_t [B, ...]. Throws v2a::Error(Usage) on mismatched shapes.
    torch::Tensor interpolate(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& t) const;
    /// x1 - (1 - min_sigma) x0 (independent of t for a straight path).
    torch::Tensor target(const torch::Tensor& x0, const torch::Tensor& x1) const;
    /// [batch] times in (0, 1), logit-normal, drawn from `generator`.
    torch::Tensor sample_t(int64_t batch, torch::Generator& generator,
                           const torch::TensorOptions& options = torch::kFloat) const;
    /// Per-sample MSE between the predicted velocity and the target: [B], computed in >= fp32.
    torch::Tensor loss(const torch::Tensor& v_pred, const torch::Tensor& x0, const torch::Tensor& x1) const;

    /// Draws t ([B], first) then x0 (like x1) from `generator` and builds x_t and the target.
    FlowSample draw(const torch::Tensor& x1, torch::Generator& generator) const;
    /// The same from given x0 and t: for pairs that must share noise and time (Flow-DPO winner and
    /// loser use the winner's x0 and t).
    FlowSample prepare(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& t) const;

    const FlowMatchingOptions& options() const { return options_; }

private:
    FlowMatchingOptions options_;
};

/// mean over all non-batch dims of (a - b)^2, in >= fp32: [B]. The per-sample error of every
/// flow-matching / DPO loss here.
torch::Tensor per_sample_mse(const torch::Tensor& a, const torch::Tensor& b);

// ---------------------------------------------------------------------------------------------
// Condition dropout (classifier-free guidance training)

struct ConditionDropoutOptions {
    double probability = 0.1;   // MMAudio null_condition_probability
    bool video_together = true; // true: clip and sync dropped together (MMAudio v1 shipped code);
                                // false: independently (MMAudio v2, maintainer in issue #86)
};

/// Bool masks [B]; true = replace that sample's features by the null (empty) features.
struct ConditionDropMask {
    torch::Tensor clip;
    torch::Tensor sync;
    torch::Tensor text;
};

/// This rank's rows of a draw made for the whole global batch (identity in a single process):
/// data-parallel trainers draw every row's randomness on every rank, so N processes see the noise
/// one process would (core/distributed.h).
FlowSample shard_rows(const FlowSample& global);
ConditionDropMask shard_rows(const ConditionDropMask& global);

/// Independent Bernoulli(probability) masks for video and text. Draw order (part of the
/// determinism contract): video_together: video [B], text [B]; else clip [B], sync [B], text [B].
/// Throws v2a::Error(Usage) for a probability outside [0, 1] or a negative batch.
ConditionDropMask draw_condition_dropout(int64_t batch, torch::Generator& generator,
                                         const ConditionDropoutOptions& options = {});

/// features [B, L, D] with rows where mask [B] is true replaced by `empty` ([L, D], [1, D] or
/// [B, L, D], broadcast over the batch and over L).
torch::Tensor apply_condition_dropout(const torch::Tensor& features, const torch::Tensor& mask,
                                      const torch::Tensor& empty);

}  // namespace v2a::flow
