// `v2a train`: supervised flow-matching training of the generator.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common.h"
#include "v2a/train/sft_trainer.h"
#include "verbs.h"

namespace v2a::cli {

void add_train(CLI::App& app) {
    auto* cmd = app.add_subcommand("train", "train the V2A generator with flow matching (needs a VAE)");
    auto data = std::make_shared<DataArgs>();
    auto o = std::make_shared<train::SftOptions>();
    auto out = std::make_shared<std::string>();
    auto vae = std::make_shared<std::string>();
    auto init = std::make_shared<std::string>();
    data->add_to(*cmd);
    cmd->add_option("--out", *out, "run folder (checkpoint/, metrics.jsonl, loss.png, generator.safetensors)")
        ->required();
    cmd->add_option("--vae", *vae, "VAE checkpoint: ours (v2a train-vae) or a converted MMAudio VAE (v2a convert)")->required();
    cmd->add_option("--preset", o->preset, "network preset: tiny | bench | small_16k | medium_44k | large_44k")
        ->capture_default_str();
    cmd->add_option("--init", *init, "start from this generator checkpoint (more SFT / fine-tuning)");
    cmd->add_option("--steps", o->steps, "optimizer updates")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--batch", o->batch_size, "clips per update")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--lr", o->lr, "peak learning rate")->capture_default_str();
    cmd->add_option("--warmup", o->warmup, "linear warmup steps")->capture_default_str();
    add_lr_decay(*cmd, o->decay);
    cmd->add_option("--ema", o->ema_decay, "EMA decay (0 disables)")->capture_default_str();
    cmd->add_option("--dropout", o->dropout, "condition dropout probability (CFG training)")->capture_default_str();
    cmd->add_flag("--no-video", [o](int64_t n) { o->video_condition = n == 0; },
                  "train without the video condition (the unconditional baseline; text kept; generate it "
                  "with --video-source none)");
    cmd->add_option("--sync-onset-weight", o->sync_onset_weight,
                    "weight of the sync encoder's onset loss (its timing signal; 0 disables)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--checkpoint-every", o->checkpoint_every, "steps between checkpoints")->capture_default_str();
    cmd->add_option("--val-every", o->val_every, "steps between held-out evaluations")->capture_default_str();
    cmd->add_option_function<std::string>(
           "--dtype", [o](const std::string& d) { o->precision = parse_precision(d); },
           "compute precision: fp32 | bf16 (CPU autocast on oneDNN; fp32 master weights)")
        ->default_str("fp32");
    cmd->add_option("--seed", o->seed, "seed")->capture_default_str();
    cmd->add_flag("--resume", o->resume, "continue exactly from <out>/checkpoint");
    cmd->callback([=] {
        o->run_dir = *out;
        o->vae_path = *vae;
        o->init = *init;
        // The --no-video baseline never reads frames: do not decode and hold them.
        auto train = data->load(io::Split::Train, o->video_condition, true, "train");
        auto val = data->load(io::Split::Val, o->video_condition, true, "train");
        auto r = train::train_generator(train, val, *o);
        std::printf("train: %s  held-out flow loss %.4f  %.1f samples/s  %.0f s\n", r.model_path.c_str(),
                    r.heldout_loss, r.samples_per_second, r.seconds);
    });
}

}  // namespace v2a::cli
