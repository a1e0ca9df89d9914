// Log-mel spectrogram exactly as MMAudio's mel converter (BigVGAN / Make-An-Audio 2 style):
// reflect-pad (n_fft - hop)/2 on both sides, STFT with center=false and a periodic Hann window,
// magnitude sqrt(re^2 + im^2 + 1e-9), librosa's slaney mel filterbank, clamp(1e-5), log10 (16 kHz) or ln (44k).
// Ref: hkchengrex/MMAudio mmaudio/ext/mel_converter.py (facts in shared/reference/v2a_systems.md 1.4).
#pragma once
#include <torch/types.h>

namespace v2a::audio {

enum class LogBase { Log10, Natural };

struct MelOptions {
    int sample_rate = 16000;
    int n_fft = 1024;
    int hop_length = 256;
    int win_length = 1024;
    int n_mels = 80;
    double fmin = 0.0;
    double fmax = 8000.0;
    LogBase log = LogBase::Log10;
    double clamp_min = 1e-5;

    /// MMAudio's 16 kHz setting (the default) and its 44.1 kHz setting.
    static MelOptions mmaudio_16k() { return {}; }
    static MelOptions mmaudio_44k() { return {44100, 2048, 512, 2048, 128, 0.0, 22050.0, LogBase::Natural, 1e-5}; }
    /// Throws v2a::Error(Config) naming the bad field.
    void validate() const;
    /// Frames produced for `n_samples` input samples: floor((n + n_fft - hop - n_fft) / hop) + 1.
    int64_t n_frames(int64_t n_samples) const;
};

/// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm='slaney' or None), computed in double
/// (band edges exactly as np.linspace) and returned as `dtype`: [n_mels, n_fft/2 + 1].
/// The one mel filterbank of the project (metrics/onset uses it in float64).
torch::Tensor mel_filterbank(int sample_rate, int n_fft, int n_mels, double fmin, double fmax, bool htk = false,
                             bool slaney_norm = true, torch::Dtype dtype = torch::kFloat32);

/// Slaney (htk=false) or HTK mel scale, as librosa.hz_to_mel / mel_to_hz.
double hz_to_mel(double hz, bool htk = false);
double mel_to_hz(double mel, bool htk = false);

/// Computes log-mel spectrograms. Module-free (no parameters) but caches the filterbank and window.
class MelSpectrogram {
public:
    explicit MelSpectrogram(MelOptions options = {});
    /// wav: [T] or [B, T] float -> [n_mels, frames] or [B, n_mels, frames]
    torch::Tensor operator()(const torch::Tensor& wav) const;
    /// Linear magnitude STFT with the same framing: [B, n_fft/2+1, frames]
    torch::Tensor magnitude(const torch::Tensor& wav) const;
    const MelOptions& options() const { return options_; }
    const torch::Tensor& filterbank() const { return filterbank_; }
    const torch::Tensor& window() const { return window_; }

private:
    MelOptions options_;
    torch::Tensor filterbank_;  // [n_mels, n_fft/2+1]
    torch::Tensor window_;      // [win_length] periodic Hann
};

}  // namespace v2a::audio
