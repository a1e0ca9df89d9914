// Exponential moving average of a module's parameters (buffers are copied as they are).
// MMAudio uses post-hoc EMA (nitrous_ema); a plain EMA with a configurable decay is the CPU-sized
// equivalent. The EMA weights are what inference loads by default.
#pragma once
#include <torch/nn/module.h>

#include "v2a/io/safetensors.h"

namespace v2a::train {

class Ema {
public:
    /// Starts from a copy of the module's current parameters and buffers.
    Ema(const torch::nn::Module& module, double decay);
    /// ema = decay * ema + (1 - decay) * param; the effective decay warms up as min(decay, (1+n)/(10+n)).
    void update(const torch::nn::Module& module);
    /// Parameters and buffers of the averaged model, by the module's names.
    const io::TensorMap& state() const { return state_; }
    void load(const io::TensorMap& state);
    int64_t updates() const { return updates_; }
    void set_updates(int64_t n) { updates_ = n; }
    double decay() const { return decay_; }

private:
    double decay_;
    int64_t updates_ = 0;
    io::TensorMap state_;
};

}  // namespace v2a::train
