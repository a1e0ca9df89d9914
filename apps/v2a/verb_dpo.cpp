// `v2a dpo`: curriculum Flow-DPO (V2A-DPO) on a pair set, or SyncDPO on rule-based negatives.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common.h"
#include "v2a/core/error.h"
#include "v2a/train/dpo_trainer.h"
#include "verbs.h"

namespace v2a::cli {

void add_dpo(CLI::App& app) {
    auto* cmd = app.add_subcommand("dpo", "align a generator with Flow-DPO: curriculum over AudioScore pairs "
                                          "(V2A-DPO) or rule-based temporal negatives (--syncdpo)");
    auto data = std::make_shared<DataArgs>();
    auto o = std::make_shared<train::DpoOptions>();
    auto s = std::make_shared<std::map<std::string, std::string>>();
    auto syncdpo = std::make_shared<bool>(false);
    auto no_curriculum = std::make_shared<bool>(false);
    data->add_to(*cmd);
    cmd->add_option("--init", (*s)["init"], "SFT generator: policy start and frozen reference")->required();
    cmd->add_option("--vae", (*s)["vae"], "its VAE")->required();
    cmd->add_option("--pairs", (*s)["pairs"], "pair directory from `v2a pairs`");
    cmd->add_option("--out", (*s)["out"], "run folder")->required();
    cmd->add_flag("--syncdpo", *syncdpo, "SyncDPO: ground truth vs rule-based temporal distortions, no pairs");
    cmd->add_option("--beta", o->beta, "DPO beta (per-element-mean errors)")->capture_default_str();
    cmd->add_option("--lr", o->lr, "peak learning rate")->capture_default_str();
    cmd->add_option("--steps", o->steps, "optimizer updates")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--batch", o->batch_size, "pairs per update")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--warmup", o->warmup, "linear warmup steps")->capture_default_str();
    cmd->add_option("--draws", o->draws, "(noise, t) draws per pair per update")->capture_default_str();
    cmd->add_option("--tau", o->tau, "curriculum threshold: stage 1 = complexity > tau")->capture_default_str();
    cmd->add_flag("--no-curriculum", *no_curriculum, "mix every pair from the start");
    cmd->add_flag("--cumulative", o->cumulative, "stage 2 keeps the easy pairs");
    cmd->add_option("--stage1-fraction", o->stage1_fraction, "share of steps for stage 1 (default: its share of pairs)");
    cmd->add_option("--syncdpo-stages", o->syncdpo_stages, "SyncDPO difficulty bands, coarse -> subtle")
        ->capture_default_str();
    cmd->add_option("--sft-weight", o->sft_weight, "weight of a supervised flow loss on the winners")
        ->capture_default_str();
    cmd->add_option("--ema", o->ema_decay, "EMA decay (0: export raw weights)")->capture_default_str();
    cmd->add_option("--checkpoint-every", o->checkpoint_every, "steps between checkpoints")->capture_default_str();
    cmd->add_option("--val-every", o->val_every, "steps between held-out evaluations")->capture_default_str();
    cmd->add_option("--seed", o->seed, "seed")->capture_default_str();
    cmd->add_flag("--resume", o->resume, "continue exactly from <out>/checkpoint");
    cmd->callback([=] {
        o->init = (*s)["init"];
        o->vae_path = (*s)["vae"];
        o->run_dir = (*s)["out"];
        o->curriculum = !*no_curriculum;
        o->source = *syncdpo ? train::DpoPairSource::SyncDpo : train::DpoPairSource::Pairs;
        V2A_CHECK(*syncdpo || !(*s)["pairs"].empty(), Usage, "dpo: --pairs is required (or --syncdpo)");
        std::unique_ptr<pairs::PairSet> set;
        if (!*syncdpo) set = std::make_unique<pairs::PairSet>(pairs::PairSet::load((*s)["pairs"]));
        auto train = data->load(io::Split::Train, true, true, "dpo");
        auto val = data->load(io::Split::Val, true, true, "dpo");
        auto r = train::train_dpo(set.get(), train, val, *o);
        std::printf("dpo: %s  held-out flow loss %.4f -> %.4f  implicit accuracy %.3f  %.0f s\n",
                    r.model_path.c_str(), r.heldout_loss_init, r.heldout_loss, r.final_accuracy, r.seconds);
    });
}

}  // namespace v2a::cli
