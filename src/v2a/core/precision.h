// Compute precision of the generator: fp32, or bf16 through LibTorch's CPU autocast (matmuls, linear
// layers, convolutions and attention products in bf16 on oneDNN; norms, softmax, losses and the
// weights themselves stay fp32, so optimizers keep fp32 master weights).
#pragma once
#include <string>

namespace v2a {

enum class Precision { Fp32, Bf16 };

/// "fp32" | "bf16"; throws v2a::Error(Usage) otherwise.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision p);

/// RAII scope: with Bf16, CPU autocast to bf16 is on inside it (and restored after); with Fp32 it does
/// nothing. Scopes nest. Cached casts of weights are dropped when the outermost scope ends, so an
/// optimizer step between two scopes is seen by the next one.
/// True inside a bf16 CPU autocast scope: layers with a faster bf16 path take it (D16).
bool bf16_autocast();

class AutocastScope {
public:
    explicit AutocastScope(Precision precision);
    ~AutocastScope();
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool active_ = false;
    bool previous_enabled_ = false;
    int previous_dtype_ = 0;
};

}  // namespace v2a
