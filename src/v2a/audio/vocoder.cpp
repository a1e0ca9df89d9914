#include "v2a/audio/vocoder.h"

#include "v2a/core/error.h"

namespace v2a::audio {

GriffinLimVocoder::GriffinLimVocoder(MelOptions mel, GriffinLimOptions options) : mel_(mel), options_(options) {
    V2A_CHECK(mel.win_length == mel.n_fft, Config, "griffin-lim: needs win_length == n_fft (got ", mel.win_length,
              " and ", mel.n_fft, ")");
    V2A_CHECK(options.iterations >= 0 && options.momentum >= 0 && options.momentum < 1, Config,
              "griffin-lim: iterations must be >= 0 and momentum in [0, 1)");
    mel_pinv_ = torch::linalg_pinv(mel_.filterbank().to(torch::kFloat64)).to(torch::kFloat32);
}

torch::Tensor GriffinLimVocoder::mel_to_magnitude(const torch::Tensor& log_mel) const {
    auto mel = mel_.options().log == LogBase::Log10 ? torch::pow(10.0, log_mel) : torch::exp(log_mel);
    const auto& fb = mel_.filterbank();                          // [M, F]
    auto mag = torch::matmul(mel_pinv_, mel).clamp_min(1e-8);   // [B, F, frames]
    // Multiplicative updates for min ||mel - fb @ mag||^2 subject to mag >= 0 (keeps the sign).
    const auto fb_t = fb.t();
    const auto numer = torch::matmul(fb_t, mel);
    for (int i = 0; i < options_.nnls_iterations; ++i) {
        mag = mag * numer / (torch::matmul(fb_t, torch::matmul(fb, mag)) + 1e-10);
    }
    return mag;
}

torch::Tensor GriffinLimVocoder::stft(const torch::Tensor& wav) const {
    const auto& o = mel_.options();
    const int64_t pad = (o.n_fft - o.hop_length) / 2;
    auto x = torch::reflection_pad1d(wav.unsqueeze(1), {pad, pad}).squeeze(1);
    return torch::stft(x, o.n_fft, o.hop_length, o.win_length, mel_.window(), false, "reflect", false, true, true);
}

torch::Tensor GriffinLimVocoder::istft(const torch::Tensor& spec) const {
    const auto& o = mel_.options();
    const int64_t frames = spec.size(2), pad = (o.n_fft - o.hop_length) / 2;
    const int64_t ola_length = (frames - 1) * o.hop_length + o.n_fft;
    auto window = mel_.window();
    auto chunks = torch::fft_irfft(spec.transpose(1, 2), o.n_fft, -1) * window;  // [B, frames, n_fft]
    namespace F = torch::nn::functional;
    auto fold = F::FoldFuncOptions({1, ola_length}, {1, o.n_fft}).stride({1, o.hop_length});
    auto signal = F::fold(chunks.transpose(1, 2), fold).reshape({spec.size(0), ola_length});
    auto envelope = F::fold(window.pow(2).reshape({1, o.n_fft, 1}).expand({1, o.n_fft, frames}), fold)
                        .reshape({ola_length});
    signal = signal / envelope.clamp_min(1e-8);
    return signal.narrow(1, pad, frames * o.hop_length);
}

torch::Tensor GriffinLimVocoder::decode(const torch::Tensor& log_mel) {
    V2A_CHECK(log_mel.dim() == 3 && log_mel.size(1) == mel_.options().n_mels, Data,
              "griffin-lim: expected log-mel [B, ", mel_.options().n_mels, ", frames], got ", log_mel.sizes());
    torch::NoGradGuard no_grad;
    const auto mag = mel_to_magnitude(log_mel.to(torch::kFloat32));
    // Deterministic initial phase from the seed (a random phase converges faster than zero phase),
    // the same draw for every row: a clip's audio then does not depend on the batch it is decoded in
    // (K samples per clip must be reproducible from (clip, seed) alone). B = 1 draws what it always did.
    auto gen = at::detail::createCPUGenerator(options_.seed);
    auto phase = (torch::rand({mag.size(1), mag.size(2)}, gen, torch::kFloat32) * (2 * M_PI)).unsqueeze(0).expand_as(mag);
    auto angles = torch::polar(torch::ones_like(mag), phase);
    auto previous = torch::zeros_like(angles);
    const double alpha = options_.momentum / (1.0 + options_.momentum);
    for (int i = 0; i < options_.iterations; ++i) {
        auto rebuilt = stft(istft(mag * angles));
        angles = rebuilt - alpha * previous;
        angles = angles / (torch::abs(angles) + 1e-16);
        previous = rebuilt;
    }
    return istft(mag * angles);
}

double spectral_convergence(const torch::Tensor& reference_mag, const torch::Tensor& estimate_mag) {
    V2A_CHECK(reference_mag.sizes() == estimate_mag.sizes(), Data, "spectral convergence: shapes differ (",
              reference_mag.sizes(), " vs ", estimate_mag.sizes(), ")");
    auto ref = reference_mag.to(torch::kFloat64), est = estimate_mag.to(torch::kFloat64);
    const double denom = torch::linalg_norm(ref).item<double>();
    V2A_CHECK(denom > 0, Data, "spectral convergence: reference is silent");
    return torch::linalg_norm(ref - est).item<double>() / denom;
}

}  // namespace v2a::audio
