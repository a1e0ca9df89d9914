// The velocity-field interface the samplers integrate, independent of any network.
//
// Convention (MMAudio): t = 0 is noise, t = 1 is data, dx/dt = v(x, t). x is a latent [M, N, C]
// (M rows, N tokens, C channels), t is [M] fp32 (fp64 when x is fp64: bf16 would round t to
// 3 digits).
//
// A field owns its conditions (video/text features, already preprocessed once per clip batch) and
// is told per call which condition each row uses (BatchLayout). For classifier-free guidance the
// sampler makes ONE call with the conditional and the unconditional rows concatenated along the
// batch: x = [x; x] of 2B rows, rows [0, B) conditional, rows [B, 2B) unconditional.
//
// Expected adapter for the MMAudio network (src/v2a/model/mmaudio.h), a few lines in model/ or
// serve/ (flow/ does not include model/ so that it stays testable without a network):
//
//   class MMAudioVelocity : public v2a::flow::VelocityField {
//   public:
//       MMAudioVelocity(model::MMAudio net, clip, sync, text, negative_text = {})
//           : net_(net), cond_(net->preprocess_conditions(clip, sync, text)),
//             uncond_(net->get_empty_conditions(cond_.batch_size(), negative_text)),
//             both_(cat_rows(cond_, uncond_)) {}          // every member cat'ed along dim 0, once
//       torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& t,
//                              const BatchLayout& layout) override {
//           switch (layout.guidance) {
//               case Guidance::Conditional:    return net_->predict_flow(x, t, cond_);
//               case Guidance::Unconditional:  return net_->predict_flow(x, t, uncond_);
//               case Guidance::CondThenUncond: return net_->predict_flow(x, t, both_);
//           }
//       }
//   };
//
// (MMAudio's ode_wrapper instead calls predict_flow twice per step; one call of 2B rows is the
// same maths with one pass over the weights.)
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>

namespace v2a::flow {

/// Which condition the rows of one velocity call use.
enum class Guidance {
    Conditional,     // rows [0, B): real conditions
    Unconditional,   // rows [0, B): null conditions (empty clip/sync, empty or negative text)
    CondThenUncond,  // rows [0, B) conditional, rows [B, 2B) unconditional (one CFG forward)
};

struct BatchLayout {
    Guidance guidance = Guidance::Conditional;
    int64_t batch = 0;  // B: clips in the call (x has B rows, or 2B for CondThenUncond)
    int64_t rows() const { return guidance == Guidance::CondThenUncond ? 2 * batch : batch; }
};

class VelocityField {
public:
    virtual ~VelocityField() = default;
    /// x [rows, N, C], t [rows] -> velocity [rows, N, C] (same dtype/device as x).
    virtual torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& t, const BatchLayout& layout) = 0;
};

/// A VelocityField from a function (tests, analytic fields, quick adapters).
class FunctionVelocityField : public VelocityField {
public:
    using Fn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t, const BatchLayout& layout)>;
    explicit FunctionVelocityField(Fn fn) : fn_(std::move(fn)) {}
    torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& t, const BatchLayout& layout) override {
        return fn_(x, t, layout);
    }

private:
    Fn fn_;
};

/// The guided velocity at one time for a batch x [B, N, C]:
///   cfg_strength > 1:  v = s * v_cond + (1 - s) * v_uncond, from ONE call with 2B rows
///   cfg_strength <= 1: v = v_cond, one call with B rows (MMAudio evaluates only the conditional
///                      pass below 1; at exactly 1 the formula gives v_cond anyway).
/// t is a scalar time for every row. Throws v2a::Error(Model) if the field returns a wrong shape.
torch::Tensor guided_velocity(VelocityField& field, const torch::Tensor& x, double t, double cfg_strength);

/// Same with a per-row time t [B] (stochastic samplers / recomputation with per-sample steps).
torch::Tensor guided_velocity(VelocityField& field, const torch::Tensor& x, const torch::Tensor& t,
                              double cfg_strength);

/// The dtype/device for times t that go with a latent x: fp64 for fp64 x, else fp32.
torch::TensorOptions time_options(const torch::Tensor& x);

/// Standard-normal noise shaped like `sizes`, drawn on the generator's device (a CPU generator gives
/// the same numbers whatever `options` device is) in fp32 for reduced-precision dtypes, then moved
/// and cast to `options`. Deterministic in the generator state.
torch::Tensor randn_from(torch::IntArrayRef sizes, torch::Generator& generator, const torch::TensorOptions& options);

/// A CPU generator seeded with `seed` (the generator every sampler here takes).
torch::Generator cpu_generator(uint64_t seed);

}  // namespace v2a::flow
