#include "v2a/train/schedule.h"

#include <cmath>

#include "v2a/core/error.h"

namespace v2a::train {

double LrSchedule::at(int64_t step) const {
    if (warmup_steps > 0 && step < warmup_steps) return base_lr * double(step + 1) / double(warmup_steps);
    switch (kind) {
        case Kind::Constant: return base_lr;
        case Kind::Cosine: {
            const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
            const double progress = std::min(1.0, double(step - warmup_steps) / double(span));
            return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(M_PI * progress));
        }
        case Kind::Step: {
            double lr = base_lr;
            for (int64_t m : milestones) {
                if (step >= m) lr *= gamma;
            }
            return lr;
        }
    }
    return base_lr;
}

LrSchedule::Kind LrSchedule::parse_kind(const std::string& name) {
    if (name == "constant") return Kind::Constant;
    if (name == "cosine") return Kind::Cosine;
    if (name == "step") return Kind::Step;
    fail(ErrorKind::Usage, "unknown lr schedule '", name, "' (expected constant, cosine or step)");
}

}  // namespace v2a::train
