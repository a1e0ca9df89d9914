#include "v2a/metrics/sisdr.h"

#include "v2a/core/error.h"

namespace v2a::metrics {
namespace {

std::pair<torch::Tensor, torch::Tensor> checked(const torch::Tensor& preds, const torch::Tensor& target,
                                                const char* fn) {
    V2A_CHECK(preds.defined() && target.defined(), Data, fn, ": signals are undefined");
    V2A_CHECK(preds.sizes() == target.sizes(), Data, fn, ": preds ", preds.sizes(), " and target ", target.sizes(),
              " differ in shape");
    V2A_CHECK(preds.dim() >= 1 && preds.size(-1) > 0, Data, fn, ": signals are empty ", preds.sizes());
    auto p = preds.to(torch::kCPU, torch::kFloat64);
    auto t = target.to(torch::kCPU, torch::kFloat64);
    V2A_CHECK(torch::isfinite(p).all().item<bool>() && torch::isfinite(t).all().item<bool>(), Data, fn,
              ": signals contain NaN or Inf");
    return {p, t};
}

torch::Tensor formula(torch::Tensor p, torch::Tensor t, bool zero_mean, double eps) {
    if (zero_mean) {
        t = t - t.mean(-1, true);
        p = p - p.mean(-1, true);
    }
    const auto alpha = ((p * t).sum(-1, true) + eps) / (t.pow(2).sum(-1, true) + eps);
    const auto scaled = alpha * t;
    const auto noise = scaled - p;
    return 10.0 * ((scaled.pow(2).sum(-1) + eps) / (noise.pow(2).sum(-1) + eps)).log10();
}

}  // namespace

torch::Tensor si_sdr(const torch::Tensor& preds, const torch::Tensor& target, const SiSdrOptions& options) {
    auto [p, t] = checked(preds, target, "si_sdr");
    return formula(p, t, options.zero_mean, options.eps);
}

double mean_si_sdr(const torch::Tensor& preds, const torch::Tensor& target, const SiSdrOptions& options) {
    return si_sdr(preds, target, options).mean().item<double>();
}

torch::Tensor stft_magnitude_si_sdr(const torch::Tensor& preds, const torch::Tensor& target,
                                    const StftSiSdrOptions& options) {
    auto [p, t] = checked(preds, target, "stft_magnitude_si_sdr");
    V2A_CHECK(p.dim() <= 2, Data, "stft_magnitude_si_sdr: signals must be [T] or [B, T], got ", p.sizes());
    V2A_CHECK(options.n_fft > 0 && options.hop_length > 0, Usage, "stft_magnitude_si_sdr: n_fft and hop must be > 0");
    V2A_CHECK(!options.center || p.size(-1) > options.n_fft / 2, Data, "stft_magnitude_si_sdr: signal of ",
              p.size(-1), " samples is too short for reflection padding of n_fft ", options.n_fft);
    V2A_CHECK(options.center || p.size(-1) >= options.n_fft, Data, "stft_magnitude_si_sdr: signal of ", p.size(-1),
              " samples is shorter than n_fft ", options.n_fft);
    const auto window = torch::hann_window(options.n_fft, /*periodic=*/true, torch::kFloat64);
    auto mag = [&](const torch::Tensor& x) {
        auto spec = torch::stft(x, options.n_fft, options.hop_length, options.n_fft, window, options.center,
                                "reflect", false, true, true);
        return spec.abs().flatten(x.dim() == 1 ? 0 : 1);  // [F·frames] or [B, F·frames]
    };
    return formula(mag(p), mag(t), false, options.eps);
}

}  // namespace v2a::metrics
