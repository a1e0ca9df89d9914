// Vocoders turn a log-mel spectrogram back into a waveform. The generator's pipeline only sees the
// `Vocoder` interface, so a neural vocoder (BigVGAN converted to safetensors) can replace the
// weight-free default, Griffin-Lim, which is a stand-in: it needs no weights and runs on CPU,
// but its phase reconstruction is audibly "phasey" and scores lower on quality metrics.
#pragma once
#include <torch/types.h>

#include <memory>
#include <string>

#include "v2a/audio/mel.h"

namespace v2a::audio {

class Vocoder {
public:
    virtual ~Vocoder() = default;
    /// log-mel [B, n_mels, frames] (as MelSpectrogram produces) -> waveform [B, frames * hop]
    virtual torch::Tensor decode(const torch::Tensor& log_mel) = 0;
    virtual std::string name() const = 0;
    virtual const MelOptions& mel_options() const = 0;
};

struct GriffinLimOptions {
    int iterations = 32;        // more iterations: better phase, linear cost
    double momentum = 0.99;     // "fast Griffin-Lim" (Perraudin et al. 2013), as librosa
    int nnls_iterations = 30;   // multiplicative non-negative refinement of the mel -> linear inversion
    uint64_t seed = 0;          // seeds the random initial phase (same seed, same audio)
};

class GriffinLimVocoder : public Vocoder {
public:
    explicit GriffinLimVocoder(MelOptions mel = {}, GriffinLimOptions options = {});
    torch::Tensor decode(const torch::Tensor& log_mel) override;
    std::string name() const override { return "griffin-lim"; }
    const MelOptions& mel_options() const override { return mel_.options(); }

    /// log-mel -> non-negative linear magnitude [B, n_fft/2+1, frames] (pseudo-inverse + NNLS refinement).
    torch::Tensor mel_to_magnitude(const torch::Tensor& log_mel) const;
    /// Overlap-add inverse of MelSpectrogram's framing: complex [B, F, frames] -> [B, frames * hop].
    torch::Tensor istft(const torch::Tensor& spec) const;
    /// Complex STFT with MelSpectrogram's framing: [B, T] -> [B, F, frames].
    torch::Tensor stft(const torch::Tensor& wav) const;

private:
    MelSpectrogram mel_;
    GriffinLimOptions options_;
    torch::Tensor mel_pinv_;  // [F, n_mels]
};

/// Spectral convergence ||S_ref - S_est||_F / ||S_ref||_F of linear STFT magnitudes.
double spectral_convergence(const torch::Tensor& reference_mag, const torch::Tensor& estimate_mag);

}  // namespace v2a::audio
