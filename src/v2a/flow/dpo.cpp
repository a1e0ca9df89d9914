#include "v2a/flow/dpo.h"

#include <algorithm>
#include <cmath>

#include "v2a/core/error.h"

namespace v2a::flow {

DpoTerms flow_dpo_loss(const torch::Tensor& e_theta_w, const torch::Tensor& e_ref_w, const torch::Tensor& e_theta_l,
                       const torch::Tensor& e_ref_l, double beta, const torch::Tensor& weights, double label_smoothing) {
    V2A_CHECK(std::isfinite(beta) && beta > 0.0, Usage, "Flow-DPO: beta must be finite and > 0, got ", beta);
    V2A_CHECK(label_smoothing >= 0.0 && label_smoothing < 0.5, Usage,
              "Flow-DPO: label smoothing must be in [0, 0.5), got ", label_smoothing);
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
    if (label_smoothing > 0.0) per_pair = (1.0 - label_smoothing) * per_pair + label_smoothing * torch::softplus(out.z);
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
    out.gradient_factor = torch::sigmoid(-z).mean();
    out.negative_share = z.lt(0).to(z.scalar_type()).mean();
    out.raw_margin = (w_diff.detach() - l_diff.detach()).abs().mean();
    return out;
}

torch::Tensor sdpo_loser_scale(const torch::Tensor& v_w, const torch::Tensor& u_w, const torch::Tensor& v_l,
                               const torch::Tensor& u_l, double mu) {
    V2A_CHECK(mu >= 0.0 && mu <= 1.0, Usage, "SDPO: mu must be in [0, 1], got ", mu);
    V2A_CHECK(v_w.dim() >= 1 && v_w.sizes() == u_w.sizes() && v_w.sizes() == v_l.sizes() && v_w.sizes() == u_l.sizes(),
              Usage, "SDPO: predictions and targets must share one shape [B, ...], got ", v_w.sizes(), ", ",
              u_w.sizes(), ", ", v_l.sizes(), ", ", u_l.sizes());
    torch::NoGradGuard no_grad;
    const auto g_w = (v_w - u_w).flatten(1).to(torch::kDouble), g_l = (v_l - u_l).flatten(1).to(torch::kDouble);
    const auto dot = (g_w * g_l).sum(1), norm2 = g_w.pow(2).sum(1);
    auto scale = ((1.0 - mu) * norm2 / dot.clamp_min(1e-300)).clamp(0.0, 1.0);
    return torch::where(dot > 0, scale, torch::ones_like(scale)).to(v_w.scalar_type());
}

torch::Tensor scale_gradient(const torch::Tensor& e, const torch::Tensor& scale) {
    V2A_CHECK(scale.sizes() == e.sizes(), Usage, "scale_gradient: scale ", scale.sizes(), " must match ", e.sizes());
    const auto fixed = e.detach();
    return fixed + scale.detach() * (e - fixed);
}

void AutoBeta::validate() const {
    V2A_CHECK(target_factor > 0.0 && target_factor < 0.5, Usage, "auto-beta: target gradient factor must be in (0, 0.5), got ",
              target_factor);
    V2A_CHECK(decay >= 0.0 && decay < 1.0, Usage, "auto-beta: EMA decay must be in [0, 1), got ", decay);
    V2A_CHECK(min_beta > 0.0 && max_beta >= min_beta && std::isfinite(max_beta), Usage,
              "auto-beta: need 0 < min beta <= max beta, got ", min_beta, " and ", max_beta);
}

double AutoBeta::beta() const {
    // z = beta |m| / 2 = -logit(g*) makes sigma(-z) = g*.
    const double z_star = std::log((1.0 - target_factor) / target_factor);
    if (!(margin_ema > 0.0)) return max_beta;
    return std::clamp(2.0 * z_star / margin_ema, min_beta, max_beta);
}

void AutoBeta::update(double abs_raw_margin) {
    // The first margin seeds the EMA, so it carries no bias toward 0. A zero margin (the policy still
    // equals the reference, as at the first update) does not: seeded with 0, the EMA would keep beta at
    // its ceiling for ~1/(1 - decay) updates (stop 14: auto-beta spent its run near the clamp).
    if (updates == 0 && !(abs_raw_margin > 0.0)) return;
    margin_ema = updates == 0 ? abs_raw_margin : decay * margin_ema + (1.0 - decay) * abs_raw_margin;
    ++updates;
}

}  // namespace v2a::flow
