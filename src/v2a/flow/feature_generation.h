// Generation from MMAudio's extracted features (issue 16 item 4): a converted MMAudio network (every
// condition stream precomputed: v2a convert) + one clip's features as MMAudio's feature extraction
// writes them -> normalised latents; then either VAE kind -> log-mel -> vocoder.
//
//   features.safetensors: clip_features [Nc, 1024] (CLIP, 8 fps), sync_features [Ns, 768]
//   (Synchformer), text_features [77, 1024] (CLIP text); a leading batch dimension of 1 is accepted.
//   The duration is read off the clip stream (Nc / 8 s, MMAudio's clip_seq_len = int(8 * duration)),
//   and the network's sequence lengths are rescaled to it as MMAudio's update_seq_lengths does.
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <functional>
#include <string>

#include "v2a/flow/generator.h"
#include "v2a/flow/pipeline.h"

namespace v2a::flow {

struct FeatureClip {
    model::ConditionFeatures features;  // [1, L, D] each
    double duration = 0.0;              // seconds
};

/// Reads and checks one clip's features against `generator` (widths, text length, that the sync
/// length fits the clip duration). Throws v2a::Error(Data) naming the file and the stream.
FeatureClip read_feature_clip(const std::filesystem::path& path, V2AGenerator& generator);

/// Sets the generator's duration to the clip's and samples normalised latents [1, N, C] from the
/// noise of `options.seed` (Euler + CFG; precision as options). Throws v2a::Error(Usage) when the
/// generator's streams are not all precomputed (a v2a-trained generator encodes videos instead).
torch::Tensor sample_from_features(V2AGenerator& generator, const FeatureClip& clip, const GenerateOptions& options,
                                   const StepCallback& callback = {});

/// A VAE decoder for either kind of VAE file: ours (audio::load_vae) or a converted MMAudio VAE
/// (metadata kind "mmaudio_vae"). Unnormalised latent [B, C, N] -> log-mel [B, M, 2N]. `n_mels`
/// receives the VAE's mel bins (80: 16 kHz, 128: 44.1 kHz).
std::function<torch::Tensor(const torch::Tensor&)> load_vae_decoder(const std::filesystem::path& path,
                                                                    int64_t* n_mels = nullptr);

}  // namespace v2a::flow
