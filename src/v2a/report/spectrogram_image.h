// A mel spectrogram as a picture (for reports): MMAudio's 16 kHz log-mel (audio/mel.h), low
// frequencies at the bottom, mapped through a magma-like colour ramp over a fixed dB range so that
// pictures of different systems compare by eye.
#pragma once
#include <torch/types.h>

#include <vector>

namespace v2a::report {

struct SpectrogramImageOptions {
    int pixels_per_frame = 2;   // horizontal scale (hop 256 at 16 kHz: 62.5 frames/s)
    int pixels_per_mel = 2;     // vertical scale (80 mel bands)
    double floor_log10 = -5.0;  // the mel clamp (1e-5): black
    double ceil_log10 = 1.0;    // brightest
};

/// Mono samples at `sample_rate` (resampled to 16 kHz when needed) -> RGB [H, W, 3] uint8 with
/// H = 80 * pixels_per_mel. Throws v2a::Error(Usage) on empty audio or a bad rate.
torch::Tensor spectrogram_image(const std::vector<float>& samples, int sample_rate,
                                const SpectrogramImageOptions& options = {});

}  // namespace v2a::report
