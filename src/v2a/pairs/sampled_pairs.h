// Preference pairs from the model's own samples (V2A-DPO's automatic pipeline) and from ratings:
//
//   auto:  for each video (+ caption), K samples from the reference model with distinct seeds ->
//          audio -> AudioScore P(Good/Medium/Bad) -> select_pair (winner argmax P(Good), loser
//          argmax P(Bad), re-filter) -> complexity; the winner's and loser's latents are stored.
//   STAR:  the same samples ranked by semantic + temporal alignment (STAR-DPO) instead of AudioScore.
//   human: rated samples (labels + samples.csv): a Good and a Bad of the same video, VAE-encoded,
//          complexity 0 (they join curriculum stage 2).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "v2a/flow/pipeline.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/pairs/pair_store.h"
#include "v2a/pairs/preference.h"
#include "v2a/score/audio_score.h"
#include "v2a/score/labels.h"

namespace v2a::pairs {

/// How a video's pair is chosen from its K samples:
///   AudioScore  V2A-DPO: winner argmax P(Good), loser argmax P(Bad) (needs the scorer)
///   Star        STAR-DPO semantic + temporal ranking of the judges' raw scores (needs the scorer)
///   Oracle      the SIMULATED annotator's noiseless quality (true event times + the real recording):
///               the CEILING of any scorer, never a method; source "oracle"
///   GtVsSample  correct by construction (SPIN / DDO): the ground-truth audio wins over each of the K
///               samples (K pairs per video, complexity 1); source "gt"
enum class Ranking { AudioScore, Star, Oracle, GtVsSample };
Ranking parse_ranking(const std::string& name);   // "audioscore" | "star" | "oracle" | "gt-vs-sample"

struct SampledPairOptions {
    int samples_per_video = 5;       // K
    uint64_t seed = 0;               // candidate k uses seed + k (noise from flow::noise_seed(clip, seed + k))
    int videos_per_chunk = 4;        // K * this rows per sampling batch; one latent shard per chunk
    flow::GenerateOptions generate;  // Euler steps, CFG
    SelectionOptions selection;
    Ranking ranking = Ranking::AudioScore;
    std::string oracle_annotator = "sim0";   // Oracle: whose (noiseless) taste ranks the samples
    int shard_index = 0, shard_count = 1;
};

/// Builds (or resumes) shard i/N of the sampled pairs of every clip of `videos` into `dir`. The
/// scorer (AudioScore and STAR only; may be null otherwise) gives P(Good/Medium/Bad) and the raw
/// judge scores; Oracle and GtVsSample need `videos` loaded with audio and truth. Every stored
/// latent has passed through the VAE encoder (samples: Pipeline::reencode_latents; ground truth:
/// audio_to_latents). Returns a summary (pairs written, rejected by reason, seconds).
nlohmann::json build_sampled_pairs(flow::Pipeline& pipeline, score::AudioScorer* scorer,
                                   const io::ClipDataset& videos, const std::filesystem::path& dir,
                                   const SampledPairOptions& options);

/// Winner argmax, loser argmin of per-candidate scores (first index on ties); kept when the gap is
/// > 0 and >= min_margin; complexity = the gap. Throws v2a::Error(Usage) for < 2 or non-finite scores.
PairSelection select_by_score(const std::vector<double>& scores, double min_margin = 0.0);

/// STAR-DPO ranking of K candidates from raw scores [K, 5] (score/audio_score.h columns):
/// semantic S = z(ib) + z(clap) (clap left out where neutral), temporal T = -z(desync),
/// R = z(S) + z(T), z over the K candidates (a constant column contributes 0). Winner argmax R,
/// loser argmin R; with `pareto` the winner must also be at least as good as the loser on S and on T.
/// complexity = (R_w - R_l) / (4 sqrt(K - 1)), the gap over its largest possible value, in [0, 1].
PairSelection select_star_pair(const torch::Tensor& raw_scores, bool pareto = false);

/// Human pairs: for each clip of `clips` whose rated samples include a Good and a Bad (majority
/// label per sample over annotators, ties -> Medium), up to `per_clip` (Good, Bad) pairs, the audio
/// VAE-encoded by `pipeline`. Written as one shard with source "human" (resumable per clip).
nlohmann::json build_human_pairs(flow::Pipeline& pipeline, const io::ClipDataset& clips,
                                 const std::vector<score::SampleRecord>& samples,
                                 const std::vector<score::LabelRecord>& labels, const std::filesystem::path& dir,
                                 int per_clip = 1);

}  // namespace v2a::pairs
