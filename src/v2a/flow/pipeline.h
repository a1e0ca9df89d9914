// Generation end to end: generator (encoders + flow network) + frozen VAE + vocoder.
//   frames/captions -> normalised latents [B, N, C] -> VAE latent [B, C, N] -> log-mel -> wav [B, S]
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "v2a/audio/any_vae.h"
#include "v2a/audio/vocoder.h"
#include "v2a/core/precision.h"
#include "v2a/flow/generator.h"
#include "v2a/io/media.h"

namespace v2a::flow {

struct GenerateOptions {
    EulerSamplerOptions sampler;             // steps 25, cfg 4.5
    uint64_t seed = 42;                      // MMAudio demo default
    std::vector<std::string> negative;       // per clip; empty = null text
    Precision precision = Precision::Fp32;   // bf16: the sampler's network passes under CPU autocast
};

/// A generated waveform [S] as io::Audio at `sample_rate`, peak-limited to 0.99 (Griffin-Lim can
/// overshoot; files and AAC must not clip).
io::Audio to_audio(const torch::Tensor& wav, int sample_rate);

class Pipeline {
public:
    Pipeline(V2AGenerator generator, audio::AnyVae vae, std::unique_ptr<audio::Vocoder> vocoder);
    /// Loads generator + VAE checkpoints (either VAE kind: audio::AnyVae) with a Griffin-Lim vocoder on
    /// the VAE's mel setting (80 bins: MMAudio 16 kHz; 128: 44.1 kHz).
    static Pipeline load(const std::filesystem::path& generator, const std::filesystem::path& vae,
                         const audio::GriffinLimOptions& vocoder = {});

    /// Normalised latents [B, N, C] -> waveform [B, S] at the VAE's sample rate.
    torch::Tensor latents_to_audio(const torch::Tensor& latents);
    /// Samples normalised latents for a batch (frames may be undefined: text-to-audio).
    torch::Tensor sample_latents(const torch::Tensor& frames_25fps, const std::vector<std::string>& captions,
                                 const GenerateOptions& options, const StepCallback& callback = {});
    /// Latents from per-row noise seeds (see seeded_noise): row b starts from seeded_noise({seeds[b]}).
    torch::Tensor sample_latents_seeded(const torch::Tensor& frames_25fps, const std::vector<std::string>& captions,
                                        const std::vector<uint64_t>& noise_seeds, const GenerateOptions& options,
                                        const StepCallback& callback = {});
    /// Waveforms [B, S] -> normalised latents [B, N, C] (VAE posterior mean): rated audio files
    /// become DPO training pairs this way.
    torch::Tensor audio_to_latents(const torch::Tensor& wav);
    /// Generated normalised latents [B, N, C] -> VAE decode -> log-mel -> VAE encode (posterior mean)
    /// -> normalised [B, N, C]: the encoder path ground truth takes (audio_to_latents), so a pair of
    /// ground truth and a sample cannot be told apart by "encoded vs generated" (no vocoder involved).
    torch::Tensor reencode_latents(const torch::Tensor& latents);
    /// sample_latents + latents_to_audio.
    torch::Tensor generate(const torch::Tensor& frames_25fps, const std::vector<std::string>& captions,
                           const GenerateOptions& options, const StepCallback& callback = {});

    V2AGenerator& generator() { return generator_; }
    audio::AnyVae& vae() { return vae_; }
    audio::Vocoder& vocoder() { return *vocoder_; }
    int sample_rate() const { return vocoder_->mel_options().sample_rate; }

private:
    torch::Tensor mels_to_latents(const torch::Tensor& log_mel);  // [B, M, F] -> normalised [B, N, C]

    V2AGenerator generator_;
    audio::AnyVae vae_;
    std::unique_ptr<audio::Vocoder> vocoder_;
};

}  // namespace v2a::flow
