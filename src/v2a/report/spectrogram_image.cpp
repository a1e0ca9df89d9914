#include "v2a/report/spectrogram_image.h"

#include <torch/torch.h>

#include <array>

#include "v2a/audio/mel.h"
#include "v2a/core/error.h"
#include "v2a/io/media.h"

namespace v2a::report {
namespace {

// Anchor colours of a magma-like ramp (black -> purple -> red -> orange -> pale yellow).
constexpr std::array<std::array<float, 3>, 6> kRamp{{{0, 0, 4},
                                                     {59, 15, 112},
                                                     {140, 41, 129},
                                                     {222, 73, 104},
                                                     {254, 159, 109},
                                                     {252, 253, 191}}};

}  // namespace

torch::Tensor spectrogram_image(const std::vector<float>& samples, int sample_rate,
                                const SpectrogramImageOptions& o) {
    V2A_CHECK(!samples.empty(), Usage, "spectrogram image: no audio samples");
    V2A_CHECK(sample_rate > 0, Usage, "spectrogram image: bad sample rate ", sample_rate);
    V2A_CHECK(o.pixels_per_frame >= 1 && o.pixels_per_mel >= 1 && o.ceil_log10 > o.floor_log10, Usage,
              "spectrogram image: bad scale or range");
    io::Audio audio{samples, sample_rate};
    if (sample_rate != 16000) audio = io::resample(audio, 16000);
    const audio::MelSpectrogram mel(audio::MelOptions::mmaudio_16k());
    auto wav = torch::from_blob(audio.samples.data(), {int64_t(audio.samples.size())}, torch::kFloat).clone();
    auto m = mel(wav);  // [80, frames], log10
    auto level = ((m - o.floor_log10) / (o.ceil_log10 - o.floor_log10)).clamp(0.0, 1.0).flip({0});  // low at bottom
    // Piecewise-linear ramp: position in [0, 5], anchor index and fraction.
    auto pos = level * double(kRamp.size() - 1);
    auto idx = pos.floor().clamp(0, double(kRamp.size() - 2)).to(torch::kLong);
    auto frac = (pos - idx.to(torch::kFloat)).unsqueeze(-1);
    auto ramp = torch::empty({int64_t(kRamp.size()), 3});
    for (size_t i = 0; i < kRamp.size(); ++i)
        for (int c = 0; c < 3; ++c) ramp[int64_t(i)][c] = kRamp[i][size_t(c)];
    auto lo = ramp.index_select(0, idx.flatten()).view({m.size(0), m.size(1), 3});
    auto hi = ramp.index_select(0, (idx + 1).flatten()).view({m.size(0), m.size(1), 3});
    auto rgb = (lo + (hi - lo) * frac).round().clamp(0, 255).to(torch::kUInt8);
    return rgb.repeat_interleave(o.pixels_per_mel, 0).repeat_interleave(o.pixels_per_frame, 1).contiguous();
}

}  // namespace v2a::report
