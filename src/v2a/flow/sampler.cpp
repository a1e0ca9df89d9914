#include "v2a/flow/sampler.h"

#include "v2a/core/error.h"

namespace v2a::flow {

std::vector<double> time_grid(int steps) {
    V2A_CHECK(steps >= 1, Usage, "sampler: steps must be >= 1, got ", steps);
    std::vector<double> grid(static_cast<size_t>(steps) + 1);
    for (int i = 0; i <= steps; ++i) grid[static_cast<size_t>(i)] = static_cast<double>(i) / steps;
    grid.back() = 1.0;
    return grid;
}

EulerSampler::EulerSampler(EulerSamplerOptions options) : options_(options) {
    V2A_CHECK(options_.steps >= 1, Config, "Euler sampler: steps must be >= 1, got ", options_.steps);
    V2A_CHECK(std::isfinite(options_.cfg_strength), Config, "Euler sampler: cfg_strength must be finite, got ",
              options_.cfg_strength);
}

int EulerSampler::calls_per_run() const {
    return options_.method == OdeMethod::Euler ? options_.steps : 2 * options_.steps;
}

torch::Tensor EulerSampler::integrate(VelocityField& field, const torch::Tensor& x0,
                                      const StepCallback& callback) const {
    V2A_CHECK(x0.dim() == 3, Usage, "Euler sampler: start latent must be [B, N, C], got ", x0.sizes());
    const std::vector<double> grid = time_grid(options_.steps);
    const double s = options_.cfg_strength;
    torch::Tensor x = x0;
    for (int i = 0; i < options_.steps; ++i) {
        const double t = grid[static_cast<size_t>(i)];
        const double t_next = grid[static_cast<size_t>(i) + 1];
        const double dt = t_next - t;
        const torch::Tensor v = guided_velocity(field, x, t, s);
        torch::Tensor next;
        switch (options_.method) {
            case OdeMethod::Euler:
                next = x + dt * v;
                break;
            case OdeMethod::Midpoint: {
                const torch::Tensor v_mid = guided_velocity(field, x + (0.5 * dt) * v, t + 0.5 * dt, s);
                next = x + dt * v_mid;
                break;
            }
            case OdeMethod::Heun: {
                const torch::Tensor v_end = guided_velocity(field, x + dt * v, t_next, s);
                next = x + (0.5 * dt) * (v + v_end);
                break;
            }
        }
        x = next;
        if (callback) callback(StepInfo{i, options_.steps, t, t_next, x, v});
    }
    return x;
}

torch::Tensor EulerSampler::sample(VelocityField& field, int64_t batch, int64_t tokens, int64_t channels,
                                   torch::Generator& generator, const torch::TensorOptions& options,
                                   const StepCallback& callback) const {
    V2A_CHECK(batch >= 1 && tokens >= 1 && channels >= 1, Usage, "Euler sampler: latent shape [", batch, ", ",
              tokens, ", ", channels, "] must be positive");
    return integrate(field, randn_from({batch, tokens, channels}, generator, options), callback);
}

}  // namespace v2a::flow
