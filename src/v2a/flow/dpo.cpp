#include "v2a/flow/dpo.h"

#include <cmath>

#include "v2a/core/error.h"

namespace v2a::flow {

DpoTerms flow_dpo_loss(const torch::Tensor& e_theta_w, const torch::Tensor& e_ref_w, const torch::Tensor& e_theta_l,
                       const torch::Tensor& e_ref_l, double beta, const torch::Tensor& weights) {
    V2A_CHECK(std::isfinite(beta) && beta > 0.0, Usage, "Flow-DPO: beta must be finite and > 0, got ", beta);
    V2A_CHECK(e_theta_w.dim() == 1 && e_theta_w.size(0) >= 1, Usage,
              "Flow-DPO: errors must be [B] with B >= 1, got e_theta_w ", e_theta_w.sizes());
    const auto sizes = e_theta_w.sizes();
    V2A_CHECK(e_ref_w.sizes() == sizes && e_theta_l.sizes() == sizes && e_ref_l.sizes() == sizes, Usage,
              "Flow-DPO: error shapes differ: e_theta_w ", sizes, ", e_ref_w ", e_ref_w.sizes(), ", e_theta_l ",
              e_theta_l.sizes(), ", e_ref_l ", e_ref_l.sizes());
    V2A_CHECK(!weights.defined() || weights.sizes() == sizes, Usage, "Flow-DPO: weights must be ", sizes, ", got ",
              weights.defined() ? weights.sizes() : torch::IntArrayRef{});

    const torch::Tensor ref_w = e_ref_w.detach(), ref_l = e_ref_l.detach();
    const torch::Tensor w_diff = e_theta_w - ref_w;
    const torch::Tensor l_diff = e_theta_l - ref_l;
    DpoTerms out;
    out.z = (w_diff - l_diff) * (-0.5 * beta);
    torch::Tensor per_pair = torch::softplus(-out.z);
    if (weights.defined()) per_pair = per_pair * weights.to(per_pair.options());
    out.loss = per_pair.mean();

    const torch::Tensor z = out.z.detach();
    out.accuracy = z.gt(0).to(z.scalar_type()).mean();
    out.reward_margin = z.mean();
    out.chosen_reward = (w_diff.detach() * (-0.5 * beta)).mean();
    out.rejected_reward = (l_diff.detach() * (-0.5 * beta)).mean();
    out.model_w_err = e_theta_w.detach().mean();
    out.ref_w_err = ref_w.mean();
    out.model_l_err = e_theta_l.detach().mean();
    out.ref_l_err = ref_l.mean();
    return out;
}

}  // namespace v2a::flow
