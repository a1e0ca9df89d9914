// `v2a dpo`: curriculum Flow-DPO of a pretrained (SFT) V2A generator on preference pairs
// (V2A-DPO), or on rule-based temporally distorted negatives (SyncDPO).
//
// Per step, for B pairs (x1_w, x1_l, video, caption): one noise x0 and one logit-normal t per pair,
// SHARED by winner and loser; policy and frozen reference (the SFT model, no grad) predict the
// velocity on [winners; losers] with the same conditions; e = per-sample mean squared velocity
// error; z = -(beta/2)[(e_th_w - e_ref_w) - (e_th_l - e_ref_l)], loss = softplus(-z) (flow/dpo.h).
// `draws` > 1 averages several (x0, t) per pair in one step (flow_grpo accumulates 39).
//
// Curriculum (V2A-DPO): stage 1 = pairs with complexity c > tau, stage 2 = the rest (human pairs,
// c = 0, included); stage 1 gets a share of the steps proportional to its pairs unless told.
// SyncDPO: winners are ground-truth latents of the training clips, losers their distortions
// (pairs/rule_based.h), the difficulty band advancing coarse -> subtle over the run.
// Logged: loss, implicit accuracy (z > 0), mean z, the four errors, chosen/rejected rewards, the
// stage; validation: the held-out flow-matching loss on real clips (drift from the data).
#pragma once
#include <filesystem>
#include <string>

#include "v2a/core/precision.h"
#include "v2a/flow/dpo.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/pairs/pair_store.h"
#include "v2a/train/schedule.h"

namespace v2a::train {

enum class DpoPairSource { Pairs, SyncDpo };

struct DpoOptions {
    std::filesystem::path init;          // the SFT generator: policy initialisation and frozen reference
    std::filesystem::path vae_path;      // VAE of the generator (held-out loss; SyncDPO ground-truth latents)
    DpoPairSource source = DpoPairSource::Pairs;
    double beta = 2000.0;                // per-element-mean calibrated (see docs/DPO.md for the scaling)
    double lr = 1e-5;
    int64_t steps = 400;
    int64_t batch_size = 8;              // pairs per step
    int64_t warmup = 40;
    LrDecay decay;                      // after warmup: constant (default), step or cosine
    int draws = 1;                       // (noise, t) draws per pair per step
    double tau = 0.7;                    // curriculum threshold on complexity
    bool curriculum = true;              // false: every pair mixed from the start
    bool cumulative = false;             // stage 2 keeps the easy pairs
    double stage1_fraction = -1.0;       // < 0: proportional to stage 1's share of pairs
    int syncdpo_stages = 3;
    int syncdpo_first_stage = 0;         // SyncDPO's curriculum starts at this stage (2 of 3: the subtle band only)
    double pref_t_max = 1.0;             // < 1: the preference term only on pairs drawn at t <= this (t = 0 is
                                         //   noise, 1 data): the noisy part of the path, where the condition
                                         //   decides the clip's timing; near t = 1 a loser's error is a denoising
                                         //   error, and raising it degrades samples. The winners' flow term keeps
                                         //   every row. Masked pairs add 0 to the batch mean (z still logged).
    double sft_weight = 0.0;             // lambda: + lambda * flow loss of the winners (TangoFlux 1, JavisDiT++ 0.1)
    double gt_anchor = 0.0;              // + this * flow loss on the GROUND TRUTH of the batch's clips: a real-data
                                         //   anchor for generated winners (oracle / AudioScore pairs), where
                                         //   sft_weight would self-train on samples; costs B more rows per update
    double sdpo_mu = -1.0;               // >= 0: Diffusion-SDPO's winner-preserving loser scale (paper: 0.9)
    double label_smoothing = 0.0;        // cDPO eps: the share of pairs assumed flipped
    bool auto_beta = false;              // beta from the margin scale toward a target gradient factor
    flow::AutoBeta auto_beta_options;    //   its target g* (0.2), EMA decay and clamp
    double max_drift = -1.0;             // >= 0: stop when held-out FM loss > baseline * (1 + max_drift)
    double drift_baseline = -1.0;        // > 0: the held-out FM loss drift is measured against (online rounds:
                                         //   the first round's reference); <= 0: the reference's own
    int64_t heldout_pairs = 0;           // the set's last N pairs are not trained on: held-out pair accuracy
    int64_t patience = 0;                // > 0: stop after this many validations without a better held-out accuracy
    double ema_decay = 0.0;              // <= 0: export the raw weights
    Precision precision = Precision::Fp32;  // bf16: forward passes under CPU autocast, fp32 master weights
    uint64_t seed = 0;
    bool resume = false;
    int64_t log_every = 10;
    int64_t checkpoint_every = 100;
    int64_t val_every = 100;
    std::filesystem::path run_dir;
    int64_t stop_after = -1;             // testing aid: return after this many updates (as if killed)
};

struct DpoResult {
    std::filesystem::path model_path;    // <run>/generator.safetensors
    double heldout_loss_init = 0.0;      // the reference's held-out flow-matching loss
    double heldout_loss = 0.0;           // the tuned model's
    double final_accuracy = 0.0;         // implicit accuracy over the last log window
    double heldout_accuracy = -1.0;      // the exported model's held-out pair accuracy (-1: no held-out pairs)
    int64_t exported_step = 0;           // the update whose weights were exported (0 = the reference)
    bool stopped_early = false;
    double seconds = 0.0;
    double samples_per_second = 0.0;     // pairs / s
};

/// Model selection: with max_drift or heldout_pairs set, every validation whose held-out flow loss is
/// within the drift bound is a candidate; the exported model is the candidate with the best held-out
/// pair accuracy (the latest candidate without held-out pairs), or the reference when none passed.
/// <run>/result.json records what was exported and why.
/// `pairs` may be null for SyncDPO. `conditions` holds the videos the pairs refer to (by clip id;
/// for SyncDPO also their audio), `val` real held-out clips for the drift measure.
DpoResult train_dpo(const pairs::PairSet* pairs, const io::ClipDataset& conditions, const io::ClipDataset& val,
                    const DpoOptions& options);

}  // namespace v2a::train
