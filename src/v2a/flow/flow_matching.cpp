#include "v2a/flow/flow_matching.h"

#include "v2a/core/distributed.h"

#include "v2a/core/error.h"
#include "v2a/flow/velocity.h"

namespace v2a::flow {

namespace {

// t [B] -> [B, 1, ..., 1] to broadcast against x of `dim` dims.
torch::Tensor expand_time(const torch::Tensor& t, int64_t dim) {
    std::vector<int64_t> shape(static_cast<size_t>(dim), 1);
    shape[0] = t.size(0);
    return t.reshape(shape);
}

torch::ScalarType loss_dtype(const torch::Tensor& a) {
    return a.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

}  // namespace

FlowMatching::FlowMatching(FlowMatchingOptions options) : options_(options) {
    V2A_CHECK(options_.min_sigma >= 0.0 && options_.min_sigma < 1.0, Config,
              "flow matching: min_sigma must be in [0, 1), got ", options_.min_sigma);
    V2A_CHECK(options_.logit_scale >= 0.0, Config, "flow matching: logit_scale must be >= 0, got ",
              options_.logit_scale);
}

torch::Tensor FlowMatching::interpolate(const torch::Tensor& x0, const torch::Tensor& x1,
                                        const torch::Tensor& t) const {
    V2A_CHECK(x0.sizes() == x1.sizes(), Usage, "flow matching: x0 ", x0.sizes(), " and x1 ", x1.sizes(),
              " differ in shape");
    V2A_CHECK(x0.dim() >= 1 && t.dim() == 1 && t.size(0) == x0.size(0), Usage, "flow matching: t must be [",
              x0.dim() >= 1 ? x0.size(0) : 0, "], got ", t.sizes());
    const torch::Tensor tt = expand_time(t.to(x0.scalar_type()), x0.dim());
    return (1.0 - (1.0 - options_.min_sigma) * tt) * x0 + tt * x1;
}

torch::Tensor FlowMatching::target(const torch::Tensor& x0, const torch::Tensor& x1) const {
    V2A_CHECK(x0.sizes() == x1.sizes(), Usage, "flow matching: x0 ", x0.sizes(), " and x1 ", x1.sizes(),
              " differ in shape");
    return x1 - (1.0 - options_.min_sigma) * x0;
}

torch::Tensor FlowMatching::sample_t(int64_t batch, torch::Generator& generator,
                                     const torch::TensorOptions& options) const {
    V2A_CHECK(batch >= 0, Usage, "flow matching: batch must be >= 0, got ", batch);
    const torch::Tensor z = randn_from({batch}, generator, options);
    return torch::sigmoid(z * options_.logit_scale + options_.logit_mean);
}

torch::Tensor FlowMatching::loss(const torch::Tensor& v_pred, const torch::Tensor& x0,
                                 const torch::Tensor& x1) const {
    V2A_CHECK(v_pred.sizes() == x1.sizes(), Usage, "flow matching: prediction ", v_pred.sizes(),
              " and data ", x1.sizes(), " differ in shape");
    return per_sample_mse(v_pred, target(x0, x1));
}

FlowSample FlowMatching::draw(const torch::Tensor& x1, torch::Generator& generator) const {
    V2A_CHECK(x1.dim() >= 2, Usage, "flow matching: data latents must be [B, ...], got ", x1.sizes());
    const torch::Tensor t = sample_t(x1.size(0), generator, time_options(x1));
    const torch::Tensor x0 = randn_from(x1.sizes(), generator, x1.options());
    return prepare(x0, x1, t);
}

FlowSample FlowMatching::prepare(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& t) const {
    FlowSample sample;
    sample.x0 = x0;
    sample.t = t;
    sample.x_t = interpolate(x0, x1, t);
    sample.target = target(x0, x1);
    return sample;
}

torch::Tensor per_sample_mse(const torch::Tensor& a, const torch::Tensor& b) {
    V2A_CHECK(a.sizes() == b.sizes(), Usage, "per-sample MSE: shapes ", a.sizes(), " and ", b.sizes(), " differ");
    V2A_CHECK(a.dim() >= 1, Usage, "per-sample MSE: needs a batch dimension, got a scalar");
    const auto dtype = loss_dtype(a);
    const torch::Tensor diff = a.to(dtype) - b.to(dtype);
    if (a.dim() == 1) return diff.square();
    std::vector<int64_t> dims;
    for (int64_t d = 1; d < a.dim(); ++d) dims.push_back(d);
    return diff.square().mean(dims);
}

ConditionDropMask draw_condition_dropout(int64_t batch, torch::Generator& generator,
                                         const ConditionDropoutOptions& options) {
    V2A_CHECK(options.probability >= 0.0 && options.probability <= 1.0, Usage,
              "condition dropout: probability must be in [0, 1], got ", options.probability);
    V2A_CHECK(batch >= 0, Usage, "condition dropout: batch must be >= 0, got ", batch);
    auto bernoulli = [&] {
        return torch::rand({batch}, generator, torch::TensorOptions().dtype(torch::kFloat).device(generator.device()))
            .lt(options.probability)
            .cpu();
    };
    ConditionDropMask mask;
    if (options.video_together) {
        mask.clip = bernoulli();
        mask.sync = mask.clip.clone();
    } else {
        mask.clip = bernoulli();
        mask.sync = bernoulli();
    }
    mask.text = bernoulli();
    return mask;
}

torch::Tensor apply_condition_dropout(const torch::Tensor& features, const torch::Tensor& mask,
                                      const torch::Tensor& empty) {
    V2A_CHECK(features.dim() == 3, Usage, "condition dropout: features must be [B, L, D], got ", features.sizes());
    V2A_CHECK(mask.dim() == 1 && mask.size(0) == features.size(0), Usage, "condition dropout: mask must be [",
              features.size(0), "], got ", mask.sizes());
    V2A_CHECK(empty.dim() >= 1 && empty.size(-1) == features.size(-1), Usage,
              "condition dropout: empty features ", empty.sizes(), " do not match features ", features.sizes());
    const torch::Tensor m = mask.to(features.device(), torch::kBool).view({-1, 1, 1});
    return torch::where(m, empty.to(features.options()).expand_as(features), features);
}

FlowSample shard_rows(const FlowSample& g) {
    return {dist::shard_rows(g.x0), dist::shard_rows(g.t), dist::shard_rows(g.x_t), dist::shard_rows(g.target)};
}

ConditionDropMask shard_rows(const ConditionDropMask& g) {
    return {dist::shard_rows(g.clip), dist::shard_rows(g.sync), dist::shard_rows(g.text)};
}

}  // namespace v2a::flow
