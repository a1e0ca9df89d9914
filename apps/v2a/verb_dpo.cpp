// `v2a dpo`: curriculum Flow-DPO (V2A-DPO) on a pair set, or SyncDPO on rule-based negatives.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common.h"
#include "v2a/core/error.h"
#include "v2a/train/dpo_trainer.h"
#include "v2a/train/online_dpo.h"
#include "verbs.h"

namespace v2a::cli {

void add_dpo(CLI::App& app) {
    auto* cmd = app.add_subcommand("dpo", "align a generator with Flow-DPO: curriculum over AudioScore pairs "
                                          "(V2A-DPO) or rule-based temporal negatives (--syncdpo)");
    auto data = std::make_shared<DataArgs>();
    auto o = std::make_shared<train::DpoOptions>();
    auto s = std::make_shared<std::map<std::string, std::string>>();
    auto syncdpo = std::make_shared<bool>(false);
    auto online = std::make_shared<train::OnlineDpoOptions>();
    auto online_ranking = std::make_shared<std::string>("gt-vs-sample");
    online->rounds = 0;
    auto no_curriculum = std::make_shared<bool>(false);
    data->add_to(*cmd);
    cmd->add_option("--init", (*s)["init"], "SFT generator: policy start and frozen reference")->required();
    cmd->add_option("--vae", (*s)["vae"], "its VAE (ours or a converted MMAudio VAE)")->required();
    cmd->add_option("--pairs", (*s)["pairs"], "pair directory from `v2a pairs`");
    cmd->add_option("--out", (*s)["out"], "run folder")->required();
    cmd->add_flag("--syncdpo", *syncdpo, "SyncDPO: ground truth vs rule-based temporal distortions, no pairs");
    cmd->add_option("--beta", o->beta, "DPO beta (per-element-mean errors)")->capture_default_str();
    cmd->add_option("--lr", o->lr, "peak learning rate")->capture_default_str();
    cmd->add_option("--steps", o->steps, "optimizer updates")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--batch", o->batch_size, "pairs per update")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--warmup", o->warmup, "linear warmup steps")->capture_default_str();
    add_lr_decay(*cmd, o->decay);
    cmd->add_option("--draws", o->draws, "(noise, t) draws per pair per update")->capture_default_str();
    cmd->add_option("--tau", o->tau, "curriculum threshold: stage 1 = complexity > tau")->capture_default_str();
    cmd->add_flag("--no-curriculum", *no_curriculum, "mix every pair from the start");
    cmd->add_flag("--cumulative", o->cumulative, "stage 2 keeps the easy pairs");
    cmd->add_option("--stage1-fraction", o->stage1_fraction, "share of steps for stage 1 (default: its share of pairs)");
    cmd->add_option("--syncdpo-stages", o->syncdpo_stages, "SyncDPO difficulty bands, coarse -> subtle")
        ->capture_default_str();
    cmd->add_option("--syncdpo-first-stage", o->syncdpo_first_stage,
                    "SyncDPO: start the curriculum at this stage (with 3 stages, 2 = the subtle band only)")
        ->capture_default_str();
    cmd->add_option("--pref-t-max", o->pref_t_max,
                    "the preference term only on pairs drawn at t <= this (0 noise, 1 data); the winners' flow term "
                    "on every row")
        ->capture_default_str();
    cmd->add_option("--sft-weight", o->sft_weight,
                    "lambda: weight of a flow-matching loss on the winners (TangoFlux 1, JavisDiT++ 0.1)")
        ->capture_default_str();
    cmd->add_option("--gt-anchor", o->gt_anchor,
                    "weight of a flow-matching loss on the ground truth of each batch's clips (a real-data anchor "
                    "for generated winners; B more generator rows per update)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--sdpo-mu", o->sdpo_mu,
                    "Diffusion-SDPO: scale the loser's gradient so the winner's error still falls by mu of its "
                    "own step (paper: 0.9; unset = off)")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--label-smoothing", o->label_smoothing, "cDPO: assumed share of flipped pairs, in [0, 0.5)")
        ->capture_default_str();
    cmd->add_option_function<double>(
           "--auto-beta",
           [o](double g) {
               o->auto_beta = true;
               o->auto_beta_options.target_factor = g;
           },
           "set beta from the margin scale so the gradient factor sigma(-z) sits near this target (SimpleTuner: "
           "0.2); --beta is then its starting value and ceiling (auto-beta only lowers it)")
        ->check(CLI::Range(0.01, 0.49));
    cmd->add_option("--auto-beta-decay", o->auto_beta_options.decay,
                    "auto-beta: EMA decay of the margin scale (0.99 ~ 100 updates of memory; short runs want ~0.9)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.999));
    cmd->add_option("--max-drift", o->max_drift,
                    "early stop: when the held-out flow loss exceeds the reference's by this fraction (e.g. 0.02); "
                    "the last validated model within the bound is exported")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--heldout-pairs", o->heldout_pairs,
                    "keep the set's last N pairs out of training: held-out pair accuracy picks the exported model")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--patience", o->patience, "early stop after N validations without a better held-out pair accuracy")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--log-every", o->log_every, "updates per logged window (1: every update)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--ema", o->ema_decay, "EMA decay (0: export raw weights)")->capture_default_str();
    cmd->add_option("--checkpoint-every", o->checkpoint_every, "steps between checkpoints")->capture_default_str();
    cmd->add_option("--val-every", o->val_every, "steps between held-out evaluations")->capture_default_str();
    cmd->add_option_function<std::string>(
           "--dtype", [o](const std::string& d) { o->precision = parse_precision(d); },
           "compute precision: fp32 | bf16 (CPU autocast on oneDNN; fp32 master weights)")
        ->default_str("fp32");
    cmd->add_option("--online-rounds", online->rounds,
                    "online Flow-DPO: split the updates into R rounds; before each, the current policy samples new "
                    "pairs and becomes the reference (no --pairs)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--online-ranking", *online_ranking,
                    "online pairs: gt-vs-sample (ground truth wins over each sample) | oracle (the SIMULATED "
                    "annotator's noiseless ranking: the ceiling, not a method)")
        ->capture_default_str();
    cmd->add_option("--online-K", online->pairs.samples_per_video, "online pairs: samples per video")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--online-steps", online->pairs.generate.sampler.steps, "online pairs: Euler steps")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--online-cfg", online->pairs.generate.sampler.cfg_strength, "online pairs: CFG strength")
        ->capture_default_str();
    cmd->add_option("--online-seed", online->pairs.seed, "online pairs: round r's candidate k uses seed + 1000 r + k")
        ->capture_default_str();
    cmd->add_option("--seed", o->seed, "seed")->capture_default_str();
    cmd->add_flag("--resume", o->resume, "continue exactly from <out>/checkpoint");
    cmd->callback([=] {
        o->init = (*s)["init"];
        o->vae_path = (*s)["vae"];
        o->run_dir = (*s)["out"];
        o->curriculum = !*no_curriculum;
        // Auto-beta starts at --beta and only lowers it: at the reference every margin is 0, and an
        // uncapped start (1e5) saturated the loss before the margin scale was known (stop 14).
        if (o->auto_beta) o->auto_beta_options.max_beta = std::max(o->auto_beta_options.min_beta, o->beta);
        o->source = *syncdpo ? train::DpoPairSource::SyncDpo : train::DpoPairSource::Pairs;
        const bool is_online = online->rounds > 0;
        V2A_CHECK(!(is_online && *syncdpo), Usage, "dpo: --online-rounds samples pairs; not with --syncdpo");
        V2A_CHECK(!(is_online && !(*s)["pairs"].empty()), Usage,
                  "dpo: --online-rounds makes its own pairs each round; drop --pairs");
        V2A_CHECK(is_online || *syncdpo || !(*s)["pairs"].empty(), Usage,
                  "dpo: --pairs is required (or --syncdpo, or --online-rounds)");
        std::unique_ptr<pairs::PairSet> set;
        if (!*syncdpo && !is_online) set = std::make_unique<pairs::PairSet>(pairs::PairSet::load((*s)["pairs"]));
        auto train = data->load(io::Split::Train, true, true, "dpo");
        auto val = data->load(io::Split::Val, true, true, "dpo");
        train::DpoResult r;
        if (is_online) {
            online->pairs.ranking = pairs::parse_ranking(*online_ranking);
            r = train::train_dpo_online(train, val, *o, *online);
        } else {
            r = train::train_dpo(set.get(), train, val, *o);
        }
        std::printf("dpo: %s  held-out flow loss %.4f -> %.4f  implicit accuracy %.3f  %.0f s\n",
                    r.model_path.c_str(), r.heldout_loss_init, r.heldout_loss, r.final_accuracy, r.seconds);
    });
}

}  // namespace v2a::cli
