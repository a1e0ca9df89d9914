// The training loop every trainer shares (VAE, generator SFT, Flow-DPO, DDPO, judges):
// lr schedule, gradient clipping, EMA, JSONL metrics, a progress bar, periodic validation,
// atomic checkpoints every N steps, and exact resume (weights, optimizer, EMA, RNG, data position).
//
// Run directory:
//   <run>/checkpoint/{model,ema}.safetensors, optimizer.pt, state.json, rng.safetensors
//   <run>/metrics.jsonl      one object per logged step / validation
//   <run>/loss.png           training (and validation) curve, redrawn at each checkpoint
//   <run>/model.safetensors  the final weights for inference (EMA when enabled), config in metadata
//   <run>/throughput.json    updates/s of the last call; with N processes, bytes and ms of collectives per update
#pragma once
#include <torch/nn/module.h>
#include <torch/optim/adamw.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "v2a/train/batch_sampler.h"
#include "v2a/train/ema.h"
#include "v2a/train/schedule.h"

namespace v2a::train {

struct TrainLoopOptions {
    std::string name = "train";          // progress label, log prefix
    std::filesystem::path run_dir;
    int64_t steps = 1000;                // total optimizer updates
    int64_t log_every = 10;
    int64_t val_every = 0;               // 0 = only at the end (if a validation function is given)
    int64_t checkpoint_every = 200;      // 0 = only at the end
    double grad_clip = 1.0;              // <= 0 disables
    double ema_decay = 0.999;            // <= 0 disables EMA
    LrSchedule schedule;
    bool resume = false;                 // continue from <run>/checkpoint when it exists
    uint64_t seed = 0;                   // seeds the loop's torch generator (noise, t, dropout)
    std::string config_json = "{}";      // stored in every checkpoint's metadata
    /// Testing aid: return (as if killed) after this many updates in this call, right after a
    /// checkpoint is due or not. -1 = run to the end.
    int64_t stop_after = -1;
};

struct StepResult {
    torch::Tensor loss;                       // scalar, backpropagated by the loop
    std::map<std::string, double> metrics;    // logged as they are
    int64_t samples = 0;                      // for the samples/s rate
};

class TrainLoop {
public:
    TrainLoop(TrainLoopOptions options, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
              BatchSampler* sampler = nullptr);

    using StepFn = std::function<StepResult(int64_t step, torch::Generator& generator)>;
    using ValFn = std::function<std::map<std::string, double>()>;

    /// Runs from the current step (0, or the checkpoint's when resuming) to options.steps.
    /// Returns the number of updates made in this call.
    int64_t run(const StepFn& step_fn, const ValFn& val_fn = {});

    /// A trainer's own scalars that must survive a resume (e.g. DPO's auto-beta EMA): `save` is read
    /// at every checkpoint into state.json, `load` is called with them when a checkpoint is loaded.
    using ExtraState = std::map<std::string, double>;
    void set_extra_state(std::function<ExtraState()> save, std::function<void(const ExtraState&)> load) {
        save_extra_ = std::move(save);
        load_extra_ = std::move(load);
    }
    /// Early stopping: called from a validation function, ends the run after that validation (a
    /// checkpoint is written and marked stopped, so a resume does not train on).
    void request_stop() { stop_requested_ = true; }
    bool stopped_early() const { return stopped_; }

    int64_t step() const { return step_; }
    torch::Generator& generator() { return generator_; }
    Ema* ema() { return ema_.get(); }
    /// Samples/s over the updates of the last run() call.
    double throughput() const { return throughput_; }

    /// Saves / loads <run>/checkpoint (public for tools and tests).
    void save_checkpoint();
    bool load_checkpoint();  // false when there is none
    /// Writes <run>/model.safetensors (EMA weights when EMA is on).
    void export_model();

private:
    void log_record(const std::map<std::string, double>& values, const std::string& kind);
    void draw_curve();

    TrainLoopOptions options_;
    torch::nn::Module& model_;
    torch::optim::Optimizer& optimizer_;
    BatchSampler* sampler_;
    std::unique_ptr<Ema> ema_;
    torch::Generator generator_;
    int64_t step_ = 0;
    double throughput_ = 0.0;
    std::function<ExtraState()> save_extra_;
    std::function<void(const ExtraState&)> load_extra_;
    bool stop_requested_ = false, stopped_ = false;
};

/// The generator trainers' optimizer (MMAudio's recipe): AdamW, betas (0.9, 0.95), weight decay
/// 1e-6, over the parameters that require gradients (frozen encoders are left out).
std::unique_ptr<torch::optim::AdamW> generator_adamw(torch::nn::Module& model, double lr);

/// Loop settings from a trainer's options (SftOptions, DpoOptions, DdpoOptions all have run_dir,
/// steps, log_every, val_every, checkpoint_every, lr, warmup, decay, resume, seed and stop_after).
template <class Options>
TrainLoopOptions generator_loop_options(const std::string& name, const Options& o, double ema_decay,
                                        const std::string& config_json) {
    TrainLoopOptions lo;
    lo.name = name;
    lo.run_dir = o.run_dir;
    lo.steps = o.steps;
    lo.log_every = o.log_every;
    lo.val_every = o.val_every;
    lo.checkpoint_every = o.checkpoint_every;
    lo.ema_decay = ema_decay;
    lo.schedule.base_lr = o.lr;
    lo.schedule.warmup_steps = o.warmup;
    lo.schedule.kind = o.decay.kind;
    lo.schedule.milestones = o.decay.milestones;
    lo.schedule.gamma = o.decay.gamma;
    lo.schedule.min_lr = o.decay.min_lr;
    lo.schedule.total_steps = o.steps;
    lo.resume = o.resume;
    lo.seed = o.seed;
    lo.stop_after = o.stop_after;
    lo.config_json = config_json;
    return lo;
}

}  // namespace v2a::train
