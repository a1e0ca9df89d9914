#include "v2a/flow/velocity.h"

#include <ATen/CPUGeneratorImpl.h>

#include "v2a/core/error.h"

namespace v2a::flow {

namespace {

torch::Tensor call_checked(VelocityField& field, const torch::Tensor& x, const torch::Tensor& t,
                           const BatchLayout& layout) {
    torch::Tensor v = field.velocity(x, t, layout);
    V2A_CHECK(v.defined() && v.sizes() == x.sizes(), Model, "velocity field: returned shape ",
              v.defined() ? v.sizes() : torch::IntArrayRef{}, " for input ", x.sizes(), " (must be equal)");
    return v;
}

}  // namespace

torch::Tensor guided_velocity(VelocityField& field, const torch::Tensor& x, const torch::Tensor& t,
                              double cfg_strength) {
    V2A_CHECK(x.dim() >= 1, Usage, "guided_velocity: x must have a batch dimension, got shape ", x.sizes());
    const int64_t batch = x.size(0);
    V2A_CHECK(t.dim() == 1 && t.size(0) == batch, Usage, "guided_velocity: t must be [", batch, "], got ",
              t.sizes());
    if (cfg_strength <= 1.0) return call_checked(field, x, t, {Guidance::Conditional, batch});
    // Conditional and unconditional rows in one forward: [x; x] with t repeated.
    const torch::Tensor both = call_checked(field, torch::cat({x, x}, 0), torch::cat({t, t}, 0),
                                            {Guidance::CondThenUncond, batch});
    const torch::Tensor v_cond = both.narrow(0, 0, batch);
    const torch::Tensor v_uncond = both.narrow(0, batch, batch);
    return v_cond * cfg_strength + v_uncond * (1.0 - cfg_strength);
}

torch::Tensor guided_velocity(VelocityField& field, const torch::Tensor& x, double t, double cfg_strength) {
    V2A_CHECK(x.dim() >= 1, Usage, "guided_velocity: x must have a batch dimension, got shape ", x.sizes());
    return guided_velocity(field, x, torch::full({x.size(0)}, t, time_options(x)), cfg_strength);
}

torch::TensorOptions time_options(const torch::Tensor& x) {
    return torch::TensorOptions()
        .dtype(x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat)
        .device(x.device());
}

torch::Tensor randn_from(torch::IntArrayRef sizes, torch::Generator& generator, const torch::TensorOptions& options) {
    const auto dtype = options.dtype().toScalarType();
    // Draw in at least fp32 so a bf16/fp16 run sees the same noise (rounded) as an fp32 run.
    const auto draw_dtype = (dtype == torch::kDouble) ? torch::kDouble : torch::kFloat;
    torch::Tensor z = torch::randn(sizes, generator, torch::TensorOptions().dtype(draw_dtype).device(generator.device()));
    return z.to(options.device(), dtype);
}

torch::Generator cpu_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

}  // namespace v2a::flow
