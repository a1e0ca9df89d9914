#include "v2a/core/precision.h"

#include <ATen/autocast_mode.h>

#include "v2a/core/error.h"

namespace v2a {

Precision parse_precision(const std::string& name) {
    if (name == "fp32") return Precision::Fp32;
    if (name == "bf16") return Precision::Bf16;
    fail(ErrorKind::Usage, "--dtype must be fp32 or bf16, got '", name, "'");
}

const char* precision_name(Precision p) { return p == Precision::Bf16 ? "bf16" : "fp32"; }

bool bf16_autocast() {
    return at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
}

AutocastScope::AutocastScope(Precision precision) {
    if (precision != Precision::Bf16) return;
    active_ = true;
    previous_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = int(at::autocast::get_autocast_cpu_dtype());
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
    at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
    if (!active_) return;
    // The weight-cast cache lives while any scope is open; the outermost one clears it.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(previous_enabled_);
    at::autocast::set_autocast_cpu_dtype(at::ScalarType(previous_dtype_));
}

}  // namespace v2a
