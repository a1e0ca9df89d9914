// Learning-rate schedules: linear warmup, then constant, cosine decay, or MMAudio's steps (x0.1 at milestones).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace v2a::train {

struct LrSchedule {
    enum class Kind { Constant, Cosine, Step };
    double base_lr = 1e-4;
    int64_t warmup_steps = 0;
    Kind kind = Kind::Constant;
    int64_t total_steps = 0;             // cosine: decays to min_lr at total_steps
    double min_lr = 0.0;
    std::vector<int64_t> milestones;     // step: multiply by gamma at each
    double gamma = 0.1;

    /// lr for 0-based `step` (the update about to be made).
    double at(int64_t step) const;
    static Kind parse_kind(const std::string& name);  // constant | cosine | step
};

/// The decay after warmup that a trainer's options carry (its peak lr and warmup are its own fields):
/// MMAudio decays x0.1 at 80% and 90% of its run (milestones 240K, 270K of 300K).
struct LrDecay {
    LrSchedule::Kind kind = LrSchedule::Kind::Constant;
    std::vector<int64_t> milestones;     // step: multiply by gamma at each (absolute update numbers)
    double gamma = 0.1;
    double min_lr = 0.0;                 // cosine: the floor reached at the last update
};

}  // namespace v2a::train
