#include "v2a/audio/mel.h"

#include "v2a/core/error.h"

namespace v2a::audio {

void MelOptions::validate() const {
    V2A_CHECK(sample_rate > 0, Config, "mel: sample_rate must be > 0 (got ", sample_rate, ")");
    V2A_CHECK(n_fft > 0 && hop_length > 0 && win_length > 0 && win_length <= n_fft, Config,
              "mel: need 0 < win_length <= n_fft and hop_length > 0 (got n_fft ", n_fft, ", win ", win_length,
              ", hop ", hop_length, ")");
    V2A_CHECK(n_mels > 0, Config, "mel: n_mels must be > 0 (got ", n_mels, ")");
    V2A_CHECK(fmin >= 0 && fmax > fmin && fmax <= sample_rate / 2.0 + 1e-9, Config,
              "mel: need 0 <= fmin < fmax <= sample_rate/2 (got ", fmin, ", ", fmax, ")");
    V2A_CHECK(clamp_min > 0, Config, "mel: clamp_min must be > 0");
}

int64_t MelOptions::n_frames(int64_t n_samples) const {
    const int64_t padded = n_samples + (n_fft - hop_length);
    return padded < n_fft ? 0 : (padded - n_fft) / hop_length + 1;
}

double hz_to_mel(double hz, bool htk) {
    if (htk) return 2595.0 * std::log10(1.0 + hz / 700.0);
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = std::log(6.4) / 27.0;
    if (hz >= min_log_hz) return min_log_mel + std::log(hz / min_log_hz) / logstep;
    return hz / f_sp;
}

double mel_to_hz(double mel, bool htk) {
    if (htk) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = std::log(6.4) / 27.0;
    if (mel >= min_log_mel) return min_log_hz * std::exp(logstep * (mel - min_log_mel));
    return f_sp * mel;
}

torch::Tensor mel_filterbank(int sample_rate, int n_fft, int n_mels, double fmin, double fmax, bool htk,
                             bool slaney_norm, torch::Dtype dtype) {
    V2A_CHECK(sample_rate > 0 && n_fft > 0 && n_mels > 0, Usage, "mel_filterbank: sr, n_fft and n_mels must be > 0");
    V2A_CHECK(fmin >= 0 && fmax > fmin, Usage, "mel_filterbank: need 0 <= fmin < fmax, got ", fmin, ", ", fmax);
    const int n_bins = n_fft / 2 + 1;
    // Band edges: n_mels + 2 points evenly spaced on the mel scale (librosa.mel_frequencies); the
    // last point is hi itself, as np.linspace makes it.
    const int n_points = n_mels + 2;
    const double mel_lo = hz_to_mel(fmin, htk), mel_hi = hz_to_mel(fmax, htk);
    const double step = (mel_hi - mel_lo) / double(n_points - 1);
    std::vector<double> edges(static_cast<size_t>(n_points));
    for (int i = 0; i < n_points; ++i) {
        edges[size_t(i)] = mel_to_hz(i == n_points - 1 ? mel_hi : mel_lo + double(i) * step, htk);
    }
    auto weights = torch::zeros({n_mels, n_bins}, torch::kFloat64);
    auto w = weights.accessor<double, 2>();
    for (int m = 0; m < n_mels; ++m) {
        const double lo = edges[size_t(m)], centre = edges[size_t(m + 1)], hi = edges[size_t(m + 2)];
        const double norm = slaney_norm ? 2.0 / (hi - lo) : 1.0;  // slaney: constant area per band
        for (int k = 0; k < n_bins; ++k) {
            const double f = double(k) * sample_rate / n_fft;
            const double lower = (f - lo) / (centre - lo), upper = (hi - f) / (hi - centre);
            w[m][k] = std::max(0.0, std::min(lower, upper)) * norm;
        }
    }
    return weights.to(dtype);
}

MelSpectrogram::MelSpectrogram(MelOptions options) : options_(options) {
    options_.validate();
    filterbank_ = mel_filterbank(options_.sample_rate, options_.n_fft, options_.n_mels, options_.fmin,
                                 options_.fmax);
    window_ = torch::hann_window(options_.win_length, torch::TensorOptions().dtype(torch::kFloat32));
}

torch::Tensor MelSpectrogram::magnitude(const torch::Tensor& wav) const {
    V2A_CHECK(wav.dim() == 1 || wav.dim() == 2, Data, "mel: expected audio [T] or [B, T], got ", wav.sizes());
    auto x = wav.dim() == 1 ? wav.unsqueeze(0) : wav;
    x = x.to(torch::kFloat32);
    const int64_t pad = (options_.n_fft - options_.hop_length) / 2;
    V2A_CHECK(x.size(1) > pad, Data, "mel: audio of ", x.size(1), " samples is too short (need > ", pad, ")");
    x = torch::reflection_pad1d(x.unsqueeze(1), {pad, pad}).squeeze(1);
    auto spec = torch::stft(x, options_.n_fft, options_.hop_length, options_.win_length, window_.to(x.device()),
                            /*center=*/false, "reflect", /*normalized=*/false, /*onesided=*/true,
                            /*return_complex=*/true);
    return torch::sqrt(torch::real(spec).pow(2) + torch::imag(spec).pow(2) + 1e-9);  // [B, F, frames]
}

torch::Tensor MelSpectrogram::operator()(const torch::Tensor& wav) const {
    auto mag = magnitude(wav);
    auto mel = torch::matmul(filterbank_.to(mag.device()), mag).clamp_min(options_.clamp_min);
    mel = options_.log == LogBase::Log10 ? torch::log10(mel) : torch::log(mel);
    return wav.dim() == 1 ? mel.squeeze(0) : mel;
}

}  // namespace v2a::audio
