// `v2a train-vae`: the mel VAE the generator works in (latent space of 20 channels at 2x downsampling).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common.h"
#include "v2a/train/vae_trainer.h"
#include "verbs.h"

namespace v2a::cli {

void add_train_vae(CLI::App& app) {
    auto* cmd = app.add_subcommand("train-vae", "train the mel VAE on a dataset's ground-truth audio");
    auto data = std::make_shared<DataArgs>();
    auto opts = std::make_shared<train::VaeTrainOptions>();
    auto out = std::make_shared<std::string>();
    data->add_to(*cmd);
    cmd->add_option("--out", *out, "run folder (checkpoints, metrics.jsonl, loss.png, vae.safetensors)")->required();
    cmd->add_option("--preset", opts->preset, "tiny | bench | mmaudio_16k")->capture_default_str();
    cmd->add_option("--steps", opts->steps, "optimizer updates")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--batch", opts->batch_size, "clips per update")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--lr", opts->lr, "peak learning rate (cosine decay)")->capture_default_str();
    cmd->add_option("--seed", opts->seed, "seed")->capture_default_str();
    cmd->add_flag("--resume", opts->resume, "continue from <out>/checkpoint");
    cmd->callback([=] {
        opts->run_dir = *out;
        auto train = data->load(io::Split::Train, false, true, "train-vae");
        auto val = data->load(io::Split::Val, false, true, "train-vae");
        auto result = train::train_vae(train, val, *opts);
        std::printf("train-vae: %s  validation L1 (log10 mel) %.4f  in %.0f s\n", result.model_path.c_str(),
                    result.val_l1, result.train_seconds);
    });
}

}  // namespace v2a::cli
