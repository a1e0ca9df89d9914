#include "v2a/train/ema.h"

#include "v2a/core/error.h"
#include "v2a/io/checkpoint.h"

namespace v2a::train {

Ema::Ema(const torch::nn::Module& module, double decay) : decay_(decay) {
    V2A_CHECK(decay >= 0 && decay < 1, Config, "ema: decay must be in [0, 1) (got ", decay, ")");
    for (const auto& [name, tensor] : io::state_dict(module)) state_[name] = tensor.detach().clone();
}

void Ema::update(const torch::nn::Module& module) {
    torch::NoGradGuard no_grad;
    const double d = std::min(decay_, (1.0 + double(updates_)) / (10.0 + double(updates_)));
    for (const auto& [name, tensor] : io::state_dict(module)) {
        auto it = state_.find(name);
        V2A_ASSERT(it != state_.end());
        if (tensor.is_floating_point()) {
            it->second.mul_(d).add_(tensor.detach(), 1.0 - d);
        } else {
            it->second.copy_(tensor);
        }
    }
    ++updates_;
}

void Ema::load(const io::TensorMap& state) {
    for (auto& [name, tensor] : state_) {
        auto it = state.find(name);
        V2A_CHECK(it != state.end(), Model, "ema: checkpoint has no tensor '", name, "'");
        V2A_CHECK(it->second.sizes() == tensor.sizes(), Model, "ema: tensor '", name, "' has shape ",
                  it->second.sizes(), ", expected ", tensor.sizes());
        tensor.copy_(it->second);
    }
}

}  // namespace v2a::train
