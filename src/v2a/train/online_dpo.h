// Online Flow-DPO rounds (SPIN / online-DPO style): the run's updates are split into R rounds; before
// each round the CURRENT policy samples K candidates per train video, a pair rule that is correct by
// construction (ground truth vs sample) or the oracle ranks them, and the round's Flow-DPO starts from
// that policy with it as the frozen reference. Offline pairs go stale as the policy moves away from
// the model that sampled them; online rounds keep the losers the policy's own current mistakes.
//
//   <run>/round_<r>/pairs/    the round's pair set (`v2a pairs` format, resumable, .done when complete)
//   <run>/round_<r>/dpo/      the round's `v2a dpo` run (checkpoint/, metrics.jsonl, result.json)
//   <run>/generator.safetensors, <run>/result.json (the last round's export; one entry per round)
// The drift bound of every round is measured against round 0's reference (the base), so early
// stopping cannot compound over rounds; a round that stops on it, or exports its reference, ends the run.
#pragma once
#include <filesystem>

#include "v2a/io/clip_dataset.h"
#include "v2a/pairs/sampled_pairs.h"
#include "v2a/train/dpo_trainer.h"

namespace v2a::train {

struct OnlineDpoOptions {
    int rounds = 2;                       // R >= 1; round r trains steps / R updates (the last the remainder)
    pairs::SampledPairOptions pairs;      // ranking (gt-vs-sample or oracle), K, sampler; round r uses seed + 1000 r
};

/// Runs (or resumes: finished rounds are skipped, the current one continues from its checkpoint) the
/// online rounds. `train` must hold audio and truth (the pair rules read them), `val` the held-out
/// clips of the drift measure. `dpo.source` must be Pairs; `dpo.steps` >= `rounds`.
DpoResult train_dpo_online(const io::ClipDataset& train, const io::ClipDataset& val, const DpoOptions& dpo,
                           const OnlineDpoOptions& online);

}  // namespace v2a::train
