// Deterministic ODE sampling of a flow-matching model (MMAudio sampler facts): t = 0 noise ->
// t = 1 data on the grid linspace(0, 1, steps + 1), classifier-free guidance with the conditional
// and unconditional passes batched into one velocity call (see velocity.h).
// Shapes: x [B, N, C].
#pragma once
#include <torch/types.h>

#include <functional>

#include "v2a/flow/velocity.h"

namespace v2a::flow {

enum class OdeMethod {
    Euler,     // MMAudio: x += dt * v(x, t); 1 call per step
    Midpoint,  // x += dt * v(x + dt/2 v(x, t), t + dt/2); 2 calls per step, 2nd order
    Heun,      // x += dt/2 (v(x, t) + v(x + dt v(x, t), t + dt)); 2 calls per step, 2nd order.
               // Evaluates the field at t = 1 on the last step.
};

struct EulerSamplerOptions {
    int steps = 25;              // MMAudio default num_steps
    double cfg_strength = 4.5;   // MMAudio default; <= 1 evaluates only the conditional pass
    OdeMethod method = OdeMethod::Euler;
};

/// Passed to the callback after every step.
struct StepInfo {
    int step = 0;            // 0-based index of the step just taken
    int steps = 0;
    double t = 0.0;          // time at the start of the step
    double t_next = 0.0;     // time at its end
    torch::Tensor x;         // [B, N, C] state after the step (do not modify)
    torch::Tensor velocity;  // [B, N, C] guided velocity at (x_before, t) (first stage)
};
using StepCallback = std::function<void(const StepInfo&)>;

/// The time grid: linspace(0, 1, steps + 1) computed in double. Throws v2a::Error(Usage) if steps < 1.
std::vector<double> time_grid(int steps);

class EulerSampler {
public:
    explicit EulerSampler(EulerSamplerOptions options = {});

    /// Integrates from the given start x0 [B, N, C] (t = 0) to t = 1. Returns x at t = 1.
    torch::Tensor integrate(VelocityField& field, const torch::Tensor& x0, const StepCallback& callback = {}) const;

    /// Draws the initial noise [batch, tokens, channels] from `generator` (same generator state ->
    /// identical output) and integrates it.
    torch::Tensor sample(VelocityField& field, int64_t batch, int64_t tokens, int64_t channels,
                         torch::Generator& generator, const torch::TensorOptions& options = torch::kFloat,
                         const StepCallback& callback = {}) const;

    /// Velocity calls per run (steps * (1 or 2)); each call has B rows, or 2B when cfg_strength > 1.
    int calls_per_run() const;
    const EulerSamplerOptions& options() const { return options_; }

private:
    EulerSamplerOptions options_;
};

}  // namespace v2a::flow
