// Scale-invariant signal-to-distortion ratio, as torchmetrics
// `scale_invariant_signal_distortion_ratio` (functional/audio/sdr.py):
//   α = (⟨ŝ, s⟩ + eps) / (|s|² + eps),  e = α s − ŝ,
//   SI-SDR = 10 log10((|α s|² + eps) / (|e|² + eps))   [dB]
// eps = float32 machine epsilon (torchmetrics uses the input dtype's eps; its doc example is
// float32). zero_mean=false is torchmetrics' default; Le Roux et al. 2019 use zero_mean=true.
// Arithmetic is float64 here, so float32 torchmetrics results agree to ~1e-5 dB.
#pragma once
#include <torch/types.h>

#include <cstdint>

namespace v2a::metrics {

struct SiSdrOptions {
    bool zero_mean = false;
    double eps = 1.1920928955078125e-07;  // torch.finfo(torch.float32).eps
};

/// SI-SDR over the last dimension: preds, target [..., T] -> [...] float64 (dB).
torch::Tensor si_sdr(const torch::Tensor& preds, const torch::Tensor& target, const SiSdrOptions& options = {});

/// Mean SI-SDR over all leading dimensions (dB).
double mean_si_sdr(const torch::Tensor& preds, const torch::Tensor& target, const SiSdrOptions& options = {});

/// "Frequency-domain SI-SDR" (CoP paper, arXiv 2503.22200): the paper's exact definition is not
/// public (metrics.md marks it unverified). Our definition: the SI-SDR formula above applied to
/// the flattened STFT magnitudes |STFT(preds)|, |STFT(target)| of each signal (periodic Hann
/// window of n_fft, hop, centre padding by reflection as torch.stft, no zero_mean).
struct StftSiSdrOptions {
    int64_t n_fft = 1024;
    int64_t hop_length = 256;
    bool center = true;
    double eps = 1.1920928955078125e-07;
};

/// preds, target [T] or [B, T] -> [] or [B] float64 (dB).
torch::Tensor stft_magnitude_si_sdr(const torch::Tensor& preds, const torch::Tensor& target,
                                    const StftSiSdrOptions& options = {});

}  // namespace v2a::metrics
