// `v2a ddpo`: the DDPO baseline (policy gradient on Flow-GRPO SDE steps, reward AudioScore P(Good)).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common.h"
#include "v2a/train/ddpo_trainer.h"
#include "verbs.h"

namespace v2a::cli {

void add_ddpo(CLI::App& app) {
    auto* cmd = app.add_subcommand("ddpo", "DDPO baseline: PPO on stochastic flow sampling, reward AudioScore P(Good)");
    auto data = std::make_shared<DataArgs>();
    auto o = std::make_shared<train::DdpoOptions>();
    auto s = std::make_shared<std::map<std::string, std::string>>();
    data->add_to(*cmd);
    cmd->add_option("--init", (*s)["init"], "SFT generator")->required();
    cmd->add_option("--vae", (*s)["vae"], "its VAE (ours or a converted MMAudio VAE)")->required();
    cmd->add_option("--judges", (*s)["judges"], "judge directory")->required();
    cmd->add_option("--audioscore", (*s)["audioscore"], "AudioScore model (the reward)")->required();
    cmd->add_option("--out", (*s)["out"], "run folder")->required();
    cmd->add_option("--steps", o->steps, "updates (one sampling round each)")->capture_default_str();
    cmd->add_option("--videos", o->videos_per_step, "videos per update")->capture_default_str();
    cmd->add_option("-K,--samples-per-video", o->samples_per_video, "samples per video (advantage group)")
        ->capture_default_str();
    cmd->add_option("--sde-steps", o->sde_steps, "stochastic sampling steps")->capture_default_str();
    cmd->add_option("--noise-level", o->noise_level, "Flow-GRPO SDE noise level a")->capture_default_str();
    cmd->add_option("--cfg", o->cfg, "CFG strength")->capture_default_str();
    cmd->add_option("--timestep-fraction", o->timestep_fraction, "share of steps trained on")->capture_default_str();
    cmd->add_option("--clip-range", o->clip_range, "PPO ratio clip")->capture_default_str();
    cmd->add_option("--kl", o->kl_weight, "KL weight to the reference (0 = DDPO)")->capture_default_str();
    cmd->add_option("--lr", o->lr, "learning rate")->capture_default_str();
    cmd->add_option("--checkpoint-every", o->checkpoint_every, "updates between checkpoints")->capture_default_str();
    cmd->add_option("--val-every", o->val_every, "updates between held-out evaluations")->capture_default_str();
    cmd->add_option("--seed", o->seed, "seed")->capture_default_str();
    cmd->add_flag("--resume", o->resume, "continue exactly from <out>/checkpoint");
    cmd->callback([=] {
        o->init = (*s)["init"];
        o->vae_path = (*s)["vae"];
        o->judges_dir = (*s)["judges"];
        o->audioscore_path = (*s)["audioscore"];
        o->run_dir = (*s)["out"];
        auto train = data->load(io::Split::Train, true, true, "ddpo");
        auto val = data->load(io::Split::Val, true, true, "ddpo");
        auto r = train::train_ddpo(train, val, *o);
        std::printf("ddpo: %s  P(Good) %.3f -> %.3f  held-out flow loss %.4f -> %.4f  %.0f s\n", r.model_path.c_str(),
                    r.first_reward, r.last_reward, r.heldout_loss_init, r.heldout_loss, r.seconds);
    });
}

}  // namespace v2a::cli
