// librosa-compatible onset strength and onset detection (librosa >= 0.10 defaults), as used by
// AV-Align (`onset_strength(y, sr)` then `onset_detect(onset_envelope=..., sr=sr)`):
//   S   = mel power spectrogram: |STFT|² (n_fft 2048, hop 512, periodic Hann, centred with zero
//         ('constant') padding of n_fft/2 — librosa < 0.10 padded by reflection), 128 Slaney-scale
//         mel bands (htk=False) with Slaney area normalisation, fmin 0, fmax sr/2.
//   S   = power_to_db(S): 10 log10(max(1e-10, S)), clipped below at max − 80 dB.
//   env = mean over bands of max(0, S[:, t] − S[:, t−lag]) (lag 1, max_size 1), left-padded with
//         lag + n_fft/(2·hop) zeros (centre=True), trimmed to S's frame count.
//   onsets: env normalised to [0, 1], greedy peak picking with librosa's defaults, frames·hop/sr.
// Deviation: librosa runs in float32 (audio, STFT, filterbank); this runs in float64, so envelope
// values agree to ~1e-5 relative and a peak decision can differ only on near-ties.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "v2a/audio/mel.h"

namespace v2a::metrics {

/// Hz <-> mel, librosa `hz_to_mel` / `mel_to_hz` (Slaney: linear below 1 kHz, log above; or HTK).
using audio::hz_to_mel;
using audio::mel_to_hz;

struct MelOptions {
    double sr = 22050.0;
    int64_t n_fft = 2048;
    int64_t n_mels = 128;
    double fmin = 0.0;
    double fmax = -1.0;        // <= 0: sr / 2
    bool htk = false;          // librosa default: Slaney mel scale
    bool slaney_norm = true;   // norm='slaney': each triangle scaled by 2 / (f[i+2] − f[i])
};

/// librosa.filters.mel: [n_mels, 1 + n_fft/2] float64.
torch::Tensor mel_filterbank(const MelOptions& options = {});

struct OnsetStrengthOptions {
    double sr = 22050.0;
    int64_t n_fft = 2048;
    int64_t hop_length = 512;
    int64_t n_mels = 128;
    double fmin = 0.0;
    double fmax = -1.0;            // <= 0: sr / 2 (onset_strength passes fmax = sr/2)
    bool reflect_pad = false;      // librosa >= 0.10 pads with zeros; true = librosa 0.9 behaviour
    double amin = 1e-10;
    double top_db = 80.0;          // <= 0 disables the clip
    int64_t lag = 1;
    bool center = true;
};

/// librosa.power_to_db(S, ref=1.0, amin, top_db): any shape, float64 out.
torch::Tensor power_to_db(const torch::Tensor& power, double amin = 1e-10, double top_db = 80.0);

/// Log-power mel spectrogram of mono audio y [T] -> [n_mels, 1 + T / hop] float64.
torch::Tensor log_mel_spectrogram(const torch::Tensor& y, const OnsetStrengthOptions& options = {});

/// librosa.onset.onset_strength(y=y, sr=sr) -> [1 + T / hop] float64.
torch::Tensor onset_strength(const torch::Tensor& y, const OnsetStrengthOptions& options = {});

/// librosa.util.peak_pick parameters (frames; delta in envelope units).
struct PeakPickOptions {
    int64_t pre_max = 1;
    int64_t post_max = 1;
    int64_t pre_avg = 4;
    int64_t post_avg = 5;
    double delta = 0.07;
    int64_t wait = 1;
    /// onset_detect's defaults: pre_max = 0.03·sr//hop, post_max = 1, pre_avg = 0.10·sr//hop,
    /// post_avg = 0.10·sr//hop + 1, wait = 0.03·sr//hop, delta 0.07 (1, 1, 4, 5, 1 at 22050/512).
    static PeakPickOptions librosa_onset_defaults(double sr, int64_t hop_length);
};

/// librosa.util.peak_pick (greedy): frame indices of the peaks of x.
std::vector<int64_t> peak_pick(const std::vector<double>& x, const PeakPickOptions& options);

struct OnsetDetectOptions {
    double sr = 22050.0;
    int64_t hop_length = 512;
    bool normalize = true;           // env −= min; env /= max + tiny
    bool use_default_peak_pick = true;
    PeakPickOptions peak_pick;       // used when use_default_peak_pick is false
};

/// librosa.onset.onset_detect(onset_envelope=env, sr, hop_length): onset frames (no backtrack).
/// An all-zero or non-finite envelope gives no onsets, as librosa.
std::vector<int64_t> onset_detect(const torch::Tensor& envelope, const OnsetDetectOptions& options = {});

/// frames · hop / sr.
std::vector<double> frames_to_time(const std::vector<int64_t>& frames, double sr, int64_t hop_length);

/// Whole AV-Align audio path: onset_strength then onset_detect, in seconds. y [T] at options.sr.
std::vector<double> onset_times(const torch::Tensor& y, const OnsetStrengthOptions& options = {});

}  // namespace v2a::metrics
