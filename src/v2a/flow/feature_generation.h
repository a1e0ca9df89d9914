// Generation from MMAudio's extracted features (issue 16 item 4): a converted MMAudio network (every
// condition stream precomputed: v2a convert) + one clip's features as MMAudio's feature extraction
// writes them -> normalised latents; then either VAE kind -> log-mel -> vocoder.
//
//   features.safetensors: clip_features [Nc, 1024] (CLIP, 8 fps), sync_features [Ns, 768]
//   (Synchformer), text_features [77, 1024] (CLIP text); a leading batch dimension of 1 is accepted.
//   Either VAE kind decodes (audio::AnyVae).
//   The duration is read off the clip stream (Nc / 8 s, MMAudio's clip_seq_len = int(8 * duration)),
//   and the network's sequence lengths are rescaled to it as MMAudio's update_seq_lengths does.
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <functional>
#include <string>

#include "v2a/flow/generator.h"
#include "v2a/flow/pipeline.h"
#include "v2a/io/manifest.h"

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

/// True when every condition stream of `config` is precomputed (a network converted with v2a convert):
/// it generates from feature files, not from videos and captions.
bool takes_precomputed_features(const GeneratorConfig& config);

/// One clip to generate from a feature file: where its features are, where its audio goes, its noise seed.
struct FeatureJob {
    std::string id;
    std::filesystem::path features, out;
    uint64_t seed = 0;
};

/// The rows of one manifest split as feature jobs (the manifest's `features` column): `<out_dir>/<id>.wav`,
/// seed = `seed` + the row's index in the split (so clips get different noise, reproducibly). A row with
/// no features file is a v2a::Error(Data) naming the manifest, its line and the id.
std::vector<FeatureJob> feature_jobs(const io::Manifest& manifest, io::Split split, const std::filesystem::path& out_dir,
                                     uint64_t seed);

}  // namespace v2a::flow
