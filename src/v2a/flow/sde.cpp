#include "v2a/flow/sde.h"

#include <cmath>

#include "v2a/core/error.h"

namespace v2a::flow {

namespace {

torch::ScalarType compute_dtype(const torch::Tensor& x) {
    return x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

torch::Tensor per_row(const torch::Tensor& s, int64_t dim) {
    std::vector<int64_t> shape(static_cast<size_t>(dim), 1);
    shape[0] = s.size(0);
    return s.reshape(shape);
}

torch::Tensor mean_over_rows(const torch::Tensor& a) {
    if (a.dim() == 1) return a;
    std::vector<int64_t> dims;
    for (int64_t d = 1; d < a.dim(); ++d) dims.push_back(d);
    return a.mean(dims);
}

void check_inputs(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& t,
                  const torch::Tensor& t_next, double sigma_max) {
    V2A_CHECK(x.dim() >= 2, Usage, "SDE step: x must be [B, ...], got ", x.sizes());
    V2A_CHECK(v.sizes() == x.sizes(), Usage, "SDE step: velocity ", v.sizes(), " and x ", x.sizes(),
              " differ in shape");
    const int64_t batch = x.size(0);
    V2A_CHECK(t.dim() == 1 && t.size(0) == batch && t_next.dim() == 1 && t_next.size(0) == batch, Usage,
              "SDE step: t and t_next must be [", batch, "], got ", t.sizes(), " and ", t_next.sizes());
    V2A_CHECK(sigma_max >= 0.0 && sigma_max < 1.0, Usage, "SDE step: sigma_max must be in [0, 1), got ", sigma_max);
    const torch::Tensor td = t.detach().to(torch::kCPU, torch::kDouble);
    const torch::Tensor tn = t_next.detach().to(torch::kCPU, torch::kDouble);
    const bool ok = td.ge(0.0).all().item<bool>() && td.lt(1.0).all().item<bool>() &&
                    tn.gt(td).all().item<bool>() && tn.le(1.0).all().item<bool>();
    V2A_CHECK(ok, Usage, "SDE step: need 0 <= t < t_next <= 1 per row, got t ", td, " t_next ", tn);
}

}  // namespace

SdeStep::SdeStep(SdeOptions options) : options_(options) {
    V2A_CHECK(options_.noise_level >= 0.0 && std::isfinite(options_.noise_level), Config,
              "SDE step: noise_level must be finite and >= 0, got ", options_.noise_level);
}

SdeStepResult SdeStep::moments(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& t,
                               const torch::Tensor& t_next, double sigma_max) const {
    check_inputs(x, v, t, t_next, sigma_max);
    const auto dtype = compute_dtype(x);
    const torch::Tensor xf = x.to(dtype);
    const torch::Tensor v_fg = -v.to(dtype);  // Flow-GRPO's velocity points toward noise
    const torch::Tensor sigma = 1.0 - t.to(x.device(), dtype);
    const torch::Tensor sigma_next = 1.0 - t_next.to(x.device(), dtype);
    const torch::Tensor dt = sigma_next - sigma;  // < 0
    const torch::Tensor denom_sigma = torch::where(sigma == 1.0, torch::full_like(sigma, sigma_max), sigma);
    const torch::Tensor std_t = torch::sqrt(sigma / (1.0 - denom_sigma)) * options_.noise_level;

    const int64_t d = x.dim();
    const torch::Tensor s = per_row(sigma, d), h = per_row(dt, d), sd = per_row(std_t, d);
    SdeStepResult r;
    r.mean = xf * (1.0 + sd.square() / (2.0 * s) * h) + v_fg * (1.0 + sd.square() * (1.0 - s) / (2.0 * s)) * h;
    r.std_t = std_t;
    r.step_std = std_t * torch::sqrt(-dt);
    return r;
}

namespace {

torch::Tensor gaussian_log_prob(const torch::Tensor& next, const torch::Tensor& mean, const torch::Tensor& step_std) {
    const torch::Tensor sd = per_row(step_std, mean.dim());
    const torch::Tensor lp = -(next.detach().to(mean.scalar_type()) - mean).square() / (2.0 * sd.square()) -
                             torch::log(sd) - 0.5 * std::log(2.0 * M_PI);
    return mean_over_rows(lp);
}

}  // namespace

SdeStepResult SdeStep::sample(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& t,
                              const torch::Tensor& t_next, double sigma_max, torch::Generator& generator) const {
    SdeStepResult r = moments(x, v, t, t_next, sigma_max);
    if (options_.noise_level == 0.0) {
        r.next = r.mean.to(x.scalar_type());
        return r;
    }
    const torch::Tensor z = randn_from(x.sizes(), generator, r.mean.options());
    const torch::Tensor next = r.mean + per_row(r.step_std, x.dim()) * z;
    r.log_prob = gaussian_log_prob(next, r.mean, r.step_std);
    r.next = next.to(x.scalar_type());
    return r;
}

SdeStepResult SdeStep::log_prob(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& t,
                                const torch::Tensor& t_next, double sigma_max, const torch::Tensor& next) const {
    V2A_CHECK(options_.noise_level > 0.0, Usage,
              "SDE step: log-probability needs noise_level > 0 (a = 0 is a deterministic step)");
    V2A_CHECK(next.sizes() == x.sizes(), Usage, "SDE step: next ", next.sizes(), " and x ", x.sizes(),
              " differ in shape");
    SdeStepResult r = moments(x, v, t, t_next, sigma_max);
    r.next = next;
    r.log_prob = gaussian_log_prob(next, r.mean, r.step_std);
    return r;
}

torch::Tensor gaussian_mean_kl(const torch::Tensor& mean_a, const torch::Tensor& mean_b, const torch::Tensor& std) {
    V2A_CHECK(mean_a.sizes() == mean_b.sizes() && mean_a.dim() >= 1, Usage, "Gaussian KL: means ", mean_a.sizes(),
              " and ", mean_b.sizes(), " differ in shape");
    V2A_CHECK(std.dim() == 1 && std.size(0) == mean_a.size(0), Usage, "Gaussian KL: std must be [",
              mean_a.size(0), "], got ", std.sizes());
    const auto dtype = compute_dtype(mean_a);
    const torch::Tensor sq = mean_over_rows((mean_a.to(dtype) - mean_b.to(dtype)).square());
    return sq / (2.0 * std.to(dtype).square());
}

SdeTransition SdeTrajectory::transition(int64_t i) const {
    V2A_CHECK(latents.defined() && i >= 0 && i < steps(), Usage, "SDE trajectory: step ", i, " out of range [0, ",
              latents.defined() ? steps() : 0, ")");
    SdeTransition tr;
    tr.x = latents.select(1, i);
    tr.next = latents.select(1, i + 1);
    tr.t = timesteps.select(1, i);
    tr.t_next = timesteps.select(1, i + 1);
    if (log_probs.defined()) tr.log_prob = log_probs.select(1, i);
    tr.sigma_max = sigma_max;
    return tr;
}

SdeSampler::SdeSampler(SdeSamplerOptions options)
    : options_(options), step_(SdeOptions{options.noise_level}) {
    V2A_CHECK(options_.steps >= 1, Config, "SDE sampler: steps must be >= 1, got ", options_.steps);
    V2A_CHECK(std::isfinite(options_.cfg_strength), Config, "SDE sampler: cfg_strength must be finite, got ",
              options_.cfg_strength);
}

SdeTrajectory SdeSampler::run(VelocityField& field, const torch::Tensor& x0, torch::Generator& generator,
                              const StepCallback& callback) const {
    V2A_CHECK(x0.dim() == 3, Usage, "SDE sampler: start latent must be [B, N, C], got ", x0.sizes());
    const std::vector<double> grid = time_grid(options_.steps);
    const int64_t batch = x0.size(0);
    SdeTrajectory traj;
    traj.sigma_max = 1.0 - grid[1];
    std::vector<torch::Tensor> latents{x0}, log_probs;
    torch::Tensor x = x0;
    for (int i = 0; i < options_.steps; ++i) {
        const double t = grid[static_cast<size_t>(i)], t_next = grid[static_cast<size_t>(i) + 1];
        const torch::Tensor tt = torch::full({batch}, t, time_options(x));
        const torch::Tensor tn = torch::full({batch}, t_next, time_options(x));
        const torch::Tensor v = guided_velocity(field, x, tt, options_.cfg_strength);
        SdeStepResult r = step_.sample(x, v, tt, tn, traj.sigma_max, generator);
        x = r.next;
        latents.push_back(x);
        if (r.log_prob.defined()) log_probs.push_back(r.log_prob);
        if (callback) callback(StepInfo{i, options_.steps, t, t_next, x, v});
    }
    traj.latents = torch::stack(latents, 1);
    if (!log_probs.empty()) traj.log_probs = torch::stack(log_probs, 1);
    const torch::Tensor g = torch::tensor(grid, torch::TensorOptions().dtype(torch::kDouble))
                                .to(time_options(x0));
    traj.timesteps = g.unsqueeze(0).expand({batch, static_cast<int64_t>(grid.size())}).contiguous();
    return traj;
}

SdeTrajectory SdeSampler::sample(VelocityField& field, int64_t batch, int64_t tokens, int64_t channels,
                                 torch::Generator& generator, const torch::TensorOptions& options,
                                 const StepCallback& callback) const {
    V2A_CHECK(batch >= 1 && tokens >= 1 && channels >= 1, Usage, "SDE sampler: latent shape [", batch, ", ",
              tokens, ", ", channels, "] must be positive");
    const torch::Tensor x0 = randn_from({batch, tokens, channels}, generator, options);
    return run(field, x0, generator, callback);
}

SdeStepResult SdeSampler::recompute(VelocityField& field, const SdeTransition& transition) const {
    const torch::Tensor v = guided_velocity(field, transition.x, transition.t, options_.cfg_strength);
    return step_.log_prob(transition.x, v, transition.t, transition.t_next, transition.sigma_max, transition.next);
}

}  // namespace v2a::flow
