#include "v2a/train/sync_onset.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "v2a/core/error.h"
#include "v2a/metrics/onset.h"

namespace v2a::train {

std::pair<double, double> sync_token_window(int64_t token, model::SyncTokenLayout layout, int64_t frames25) {
    const int64_t tokens = model::sync_tokens_for_frames(frames25);
    V2A_CHECK(token >= 0 && token < tokens, Data, "sync token window: token ", token, " is outside 0 .. ", tokens - 1,
              " for a clip of ", frames25, " frames");
    if (layout == model::SyncTokenLayout::Uniform) {
        const double width = double(frames25) / double(model::kSyncFps) / double(tokens);
        return {double(token) * width, double(token + 1) * width};
    }
    const int64_t s = token / model::kSyncTokensPerSegment, j = token % model::kSyncTokensPerSegment;
    const double begin = double(s * model::kSyncSegmentStride + 2 * j) / double(model::kSyncFps);
    return {begin, begin + 2.0 / double(model::kSyncFps)};
}

torch::Tensor sync_onset_targets(const torch::Tensor& audio, int sample_rate, int64_t frames25,
                                 model::SyncTokenLayout layout) {
    V2A_CHECK(audio.defined() && audio.dim() == 2, Data, "sync onset targets: audio must be [B, S], got ",
              audio.defined() ? audio.sizes() : c10::IntArrayRef{});
    V2A_CHECK(sample_rate > 0, Data, "sync onset targets: sample rate must be > 0, got ", sample_rate);
    const double seconds = double(frames25) / double(model::kSyncFps);
    V2A_CHECK(double(audio.size(1)) + 0.5 >= seconds * sample_rate, Data, "sync onset targets: ", audio.size(1),
              " samples are shorter than the ", seconds, " s of video");
    const int64_t tokens = model::sync_tokens_for_frames(frames25), B = audio.size(0);
    metrics::OnsetStrengthOptions o;
    o.sr = sample_rate;
    o.n_fft = 1024;
    o.hop_length = 128;  // n_fft / 8: the centring pad is a whole number of frames (8 ms at 16 kHz)
    o.n_mels = 64;
    const double frame_rate = double(sample_rate) / double(o.hop_length);
    // Every clip has the same token windows: as envelope frame ranges [f0, f1), computed once.
    std::vector<std::pair<int64_t, int64_t>> windows;
    for (int64_t k = 0; k < tokens; ++k) {
        const auto [t0, t1] = sync_token_window(k, layout, frames25);
        windows.emplace_back(std::max<int64_t>(0, int64_t(std::ceil(t0 * frame_rate - 1e-9))),
                             int64_t(std::ceil(t1 * frame_rate - 1e-9)));
    }
    auto out = torch::zeros({B, tokens}, torch::kFloat);
    auto acc = out.accessor<float, 2>();
    for (int64_t b = 0; b < B; ++b) {
        const auto env = metrics::onset_strength(audio[b].to(torch::kDouble).contiguous(), o).contiguous();  // [F], frame f at f * hop / sr
        const auto e = env.accessor<double, 1>();
        const int64_t F = env.size(0);
        float peak = 0;
        for (int64_t k = 0; k < tokens; ++k) {
            const int64_t f0 = windows[size_t(k)].first, f1 = std::min<int64_t>(F, windows[size_t(k)].second);
            double m = 0;
            for (int64_t f = f0; f < f1; ++f) m = std::max(m, e[f]);
            acc[b][k] = float(m);
            peak = std::max(peak, float(m));
        }
        if (peak > 1e-8f) out[b].div_(peak);
    }
    return out;
}

torch::Tensor sync_onset_loss(const torch::Tensor& predicted, const torch::Tensor& targets) {
    V2A_CHECK(predicted.sizes() == targets.sizes(), Data, "sync onset loss: predictions ", predicted.sizes(),
              " and targets ", targets.sizes(), " differ in shape");
    return (predicted - targets.to(predicted.dtype())).pow(2).mean();
}

}  // namespace v2a::train
