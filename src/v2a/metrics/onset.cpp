#include "v2a/metrics/onset.h"

#include <cmath>
#include <limits>

#include "v2a/core/error.h"

namespace v2a::metrics {
namespace {

double effective_fmax(double fmax, double sr) { return fmax > 0.0 ? fmax : 0.5 * sr; }

torch::Tensor checked_audio(const torch::Tensor& y, const char* fn) {
    V2A_CHECK(y.defined() && y.dim() == 1, Data, fn, ": audio must be mono [T], got ",
              y.defined() ? y.sizes() : torch::IntArrayRef{});
    V2A_CHECK(y.numel() > 0, Data, fn, ": audio is empty");
    V2A_CHECK(y.is_floating_point(), Data, fn, ": audio must be floating point");
    auto x = y.to(torch::kCPU, torch::kFloat64).contiguous();
    V2A_CHECK(torch::isfinite(x).all().item<bool>(), Data, fn, ": audio contains NaN or Inf");
    return x;
}

}  // namespace

torch::Tensor mel_filterbank(const MelOptions& o) {
    const double fmax = effective_fmax(o.fmax, o.sr);
    V2A_CHECK(o.sr > 0 && o.n_fft > 0 && o.n_mels > 0 && o.sr == std::floor(o.sr), Usage,
              "mel_filterbank: sr (whole Hz), n_fft and n_mels must be > 0");
    return audio::mel_filterbank(int(o.sr), int(o.n_fft), int(o.n_mels), o.fmin, fmax, o.htk, o.slaney_norm,
                                 torch::kFloat64);
}

torch::Tensor power_to_db(const torch::Tensor& power, double amin, double top_db) {
    V2A_CHECK(amin > 0, Usage, "power_to_db: amin must be > 0");
    auto db = 10.0 * power.to(torch::kFloat64).clamp_min(amin).log10();  // ref = 1.0 -> no offset
    if (top_db > 0 && db.numel() > 0) db = torch::maximum(db, db.max() - top_db);
    return db;
}

torch::Tensor log_mel_spectrogram(const torch::Tensor& y, const OnsetStrengthOptions& o) {
    const auto x = checked_audio(y, "log_mel_spectrogram");
    V2A_CHECK(o.n_fft > 0 && o.hop_length > 0, Usage, "log_mel_spectrogram: n_fft and hop must be > 0");
    V2A_CHECK(o.center || x.size(0) >= o.n_fft, Data, "log_mel_spectrogram: ", x.size(0),
              " samples are fewer than n_fft ", o.n_fft, " without centring");
    V2A_CHECK(!(o.center && o.reflect_pad) || x.size(0) > o.n_fft / 2, Data, "log_mel_spectrogram: ", x.size(0),
              " samples are too few for reflection padding");
    const auto window = torch::hann_window(o.n_fft, /*periodic=*/true, torch::kFloat64);
    const auto spec = torch::stft(x, o.n_fft, o.hop_length, o.n_fft, window, o.center,
                                  o.reflect_pad ? "reflect" : "constant", false, true, true);
    const auto power = spec.abs().pow(2);  // [1 + n_fft/2, frames]
    MelOptions mo;
    mo.sr = o.sr;
    mo.n_fft = o.n_fft;
    mo.n_mels = o.n_mels;
    mo.fmin = o.fmin;
    mo.fmax = o.fmax;
    return power_to_db(mel_filterbank(mo).matmul(power), o.amin, o.top_db);
}

torch::Tensor onset_strength(const torch::Tensor& y, const OnsetStrengthOptions& o) {
    V2A_CHECK(o.lag >= 1, Usage, "onset_strength: lag must be >= 1, got ", o.lag);
    const auto s = log_mel_spectrogram(y, o);  // [M, F]
    const int64_t frames = s.size(1);
    torch::Tensor flux = frames > o.lag
                             ? (s.slice(1, o.lag) - s.slice(1, 0, frames - o.lag)).clamp_min(0.0).mean(0)
                             : torch::zeros({0}, torch::kFloat64);
    int64_t pad = o.lag;
    if (o.center) pad += o.n_fft / (2 * o.hop_length);
    auto env = torch::cat({torch::zeros({pad}, torch::kFloat64), flux});
    if (o.center) env = env.slice(0, 0, frames);
    return env;
}

PeakPickOptions PeakPickOptions::librosa_onset_defaults(double sr, int64_t hop) {
    // Python's float floor division, then peak_pick's ceil (a no-op on whole numbers).
    const double h = static_cast<double>(hop);
    auto fdiv = [&](double a) { return static_cast<int64_t>(std::ceil(std::floor(a / h))); };
    PeakPickOptions p;
    p.pre_max = fdiv(0.03 * sr);
    p.post_max = fdiv(0.0 * sr) + 1;
    p.pre_avg = fdiv(0.10 * sr);
    p.post_avg = fdiv(0.10 * sr) + 1;
    p.wait = fdiv(0.03 * sr);
    p.delta = 0.07;
    return p;
}

std::vector<int64_t> peak_pick(const std::vector<double>& x, const PeakPickOptions& o) {
    V2A_CHECK(o.pre_max >= 0 && o.post_max >= 1 && o.pre_avg >= 0 && o.post_avg >= 1 && o.wait >= 0 && o.delta >= 0,
              Usage, "peak_pick: need pre_max >= 0, post_max >= 1, pre_avg >= 0, post_avg >= 1, wait >= 0, delta >= 0");
    std::vector<int64_t> peaks;
    const auto n_total = static_cast<int64_t>(x.size());
    if (n_total == 0) return peaks;
    auto window_max = [&](int64_t a, int64_t b) {
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t i = a; i < b; ++i) m = std::max(m, x[static_cast<size_t>(i)]);
        return m;
    };
    auto window_mean = [&](int64_t a, int64_t b) {
        double s = 0.0;
        for (int64_t i = a; i < b; ++i) s += x[static_cast<size_t>(i)];
        return s / static_cast<double>(b - a);
    };
    // First frame: only the look-ahead windows exist.
    int64_t n = 1;
    if (x[0] >= window_max(0, std::min(o.post_max, n_total)) &&
        x[0] >= window_mean(0, std::min(o.post_avg, n_total)) + o.delta) {
        peaks.push_back(0);
        n = o.wait + 1;
    }
    while (n < n_total) {
        const double v = x[static_cast<size_t>(n)];
        if (v != window_max(std::max<int64_t>(0, n - o.pre_max), std::min(n + o.post_max, n_total)) ||
            v < window_mean(std::max<int64_t>(0, n - o.pre_avg), std::min(n + o.post_avg, n_total)) + o.delta) {
            ++n;
            continue;
        }
        peaks.push_back(n);
        n += o.wait + 1;
    }
    return peaks;
}

std::vector<int64_t> onset_detect(const torch::Tensor& envelope, const OnsetDetectOptions& o) {
    V2A_CHECK(envelope.defined() && envelope.dim() == 1, Data, "onset_detect: envelope must be [frames]");
    V2A_CHECK(o.sr > 0 && o.hop_length > 0, Usage, "onset_detect: sr and hop must be > 0");
    if (envelope.numel() == 0) return {};
    auto env = envelope.to(torch::kCPU, torch::kFloat64).contiguous();
    if (!torch::isfinite(env).all().item<bool>()) return {};  // librosa: no onsets
    if (o.normalize) {
        env = env - env.min();
        env = env / (env.max() + std::numeric_limits<double>::min());  // util.tiny(float64)
    }
    if (!(env != 0).any().item<bool>()) return {};
    std::vector<double> x(env.data_ptr<double>(), env.data_ptr<double>() + env.numel());
    const auto params = o.use_default_peak_pick ? PeakPickOptions::librosa_onset_defaults(o.sr, o.hop_length)
                                                : o.peak_pick;
    return peak_pick(x, params);
}

std::vector<double> frames_to_time(const std::vector<int64_t>& frames, double sr, int64_t hop_length) {
    std::vector<double> t;
    t.reserve(frames.size());
    for (auto f : frames) t.push_back(static_cast<double>(f * hop_length) / sr);
    return t;
}

std::vector<double> onset_times(const torch::Tensor& y, const OnsetStrengthOptions& options) {
    OnsetDetectOptions d;
    d.sr = options.sr;
    d.hop_length = options.hop_length;
    return frames_to_time(onset_detect(onset_strength(y, options), d), options.sr, options.hop_length);
}

}  // namespace v2a::metrics
