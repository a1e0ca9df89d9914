// The V2A generator: conditioning encoders + the MMAudio-style flow network, with the VAE and the
// vocoder around it for audio in and out. Used by training (SFT, DPO, DDPO), pair generation,
// `v2a generate` and the web demo.
//
//   frames [B, T25, H, W, 3] uint8 (25 fps) + captions --Conditioner--> clip_f, sync_f, text_f
//   noise [B, N, C] --Euler + CFG over net.predict_flow--> normalised latent --unnormalize--> [B, N, C]
//   --VAE decode ([B, C, N])--> log-mel [B, 80, 2N] --vocoder--> wav [B, 2N * hop]
//
// Checkpoint keys: "net.<MMAudio key>" and "cond.<encoder key>"; the config (GeneratorConfig JSON)
// is in the safetensors metadata.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "v2a/flow/flow_matching.h"
#include "v2a/flow/sampler.h"
#include "v2a/flow/velocity.h"
#include "v2a/model/conditioner.h"
#include "v2a/model/mmaudio.h"

namespace v2a::flow {

struct GeneratorConfig {
    model::NetworkConfig network = model::NetworkConfig::bench();
    model::ConditionerConfig conditioner = model::ConditionerConfig::bench();
    double duration = 4.0;    // seconds the sequence lengths are built for (update_duration changes it)
    int frame_size = 64;      // frames are fed to the encoders at this size

    /// "tiny" | "bench" | MMAudio network presets (with paper-width precomputed-feature conditioners).
    static GeneratorConfig preset(const std::string& name, double duration = 4.0, int frame_size = 64);
    /// A converted MMAudio network: every condition stream precomputed (MMAudio's CLIP / Synchformer /
    /// CLIP-text features, extracted outside v2a), the null text taken from the network's empty_string_feat.
    static GeneratorConfig mmaudio(const model::NetworkConfig& network, double duration = 8.0);
    std::string to_json() const;
    static GeneratorConfig from_json(const std::string& text);
    void validate() const;
};

/// Conditions after the network's input projections, for a batch and its CFG counterpart.
struct GenerationConditions {
    model::PreprocessedConditions cond, uncond;
};

class V2AGeneratorImpl : public torch::nn::Module {
public:
    explicit V2AGeneratorImpl(const GeneratorConfig& config);

    /// Encodes a batch: frames [B, T25, H, W, 3] uint8 at 25 fps (undefined = no video: null
    /// clip/sync features) and B captions ("" = null text).
    model::ConditionFeatures encode(const torch::Tensor& frames_25fps, const std::vector<std::string>& captions);

    /// Null features for B rows: learned empty clip/sync, the text encoder's "" (or `negative` prompts).
    model::ConditionFeatures null_features(int64_t batch, const std::vector<std::string>& negative = {});

    /// Flow-matching training loss per sample [B] on normalised latents x1 [B, N, C], with MMAudio's
    /// condition dropout applied to `features` (drawn from `generator`). Data parallel: x1 is the
    /// global batch (its noise, t and dropout are drawn for every row), `features` and the returned
    /// losses are this rank's slice of it (dist::shard_rows).
    torch::Tensor flow_loss(const torch::Tensor& x1, const model::ConditionFeatures& features,
                            torch::Generator& generator, const ConditionDropoutOptions& dropout = {});

    /// Velocity prediction for explicit (x_t, t) — DPO evaluates winner and loser at shared noise.
    torch::Tensor velocity(const torch::Tensor& x_t, const torch::Tensor& t, const model::ConditionFeatures& features);

    /// Samples normalised latents [B, N, C] with Euler + CFG (negative prompts replace the null text).
    torch::Tensor sample(const model::ConditionFeatures& features, const EulerSamplerOptions& options,
                         torch::Generator& generator, const std::vector<std::string>& negative = {},
                         const StepCallback& callback = {});

    /// The same from given start noise x0 [B, N, C] (row-wise reproducible: see seeded_noise).
    torch::Tensor sample_from(const model::ConditionFeatures& features, const torch::Tensor& x0,
                              const EulerSamplerOptions& options, const std::vector<std::string>& negative = {},
                              const StepCallback& callback = {});

    /// Changes the clip duration (sequence lengths and RoPE tables).
    void set_duration(double seconds);
    double duration() const { return config_.duration; }
    const GeneratorConfig& config() const { return config_; }

    model::MMAudio net{nullptr};
    model::Conditioner cond{nullptr};

private:
    GeneratorConfig config_;
};
TORCH_MODULE(V2AGenerator);

/// The VelocityField over a generator with fixed conditions (cond and uncond preprocessed once).
class GeneratorVelocity : public VelocityField {
public:
    GeneratorVelocity(V2AGenerator generator, const model::ConditionFeatures& features,
                      const model::ConditionFeatures& null_features);
    torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& t, const BatchLayout& layout) override;

private:
    V2AGenerator generator_;
    model::PreprocessedConditions cond_, uncond_, both_;
};

/// Start noise [B, tokens, channels]: row b drawn from its own generator seeded with noise_seed(seeds[b]),
/// so a sample is reproducible from (clip, seed) alone, whatever batch it was drawn in.
torch::Tensor seeded_noise(const std::vector<uint64_t>& seeds, int64_t tokens, int64_t channels);
/// The noise seed of sample `seed` of a clip: FNV-1a of the id mixed with the seed.
uint64_t noise_seed(const std::string& clip_id, uint64_t seed);

/// Loads a generator written by save_generator / the SFT trainer (eval mode).
V2AGenerator load_generator(const std::filesystem::path& path);
void save_generator(const std::filesystem::path& path, V2AGenerator& generator);

}  // namespace v2a::flow
