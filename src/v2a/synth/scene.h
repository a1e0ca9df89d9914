// The visual renderer: a textured background and one drawn object per source (OpenCV drawing,
// anti-aliased). Each class has its own shape, colours, texture and motion, and every event is
// visible exactly on its frame (a strike, a contact, a flash, a mouth opening): the visual change
// from frame k-1 to k is largest at the event frame k.
#pragma once
#include <torch/types.h>

#include <vector>

#include "v2a/synth/spec.h"

namespace v2a::synth {

/// Per-frame RMS of `audio` over each frame's samples [k*spf, (k+1)*spf), scaled to max 1: [T].
std::vector<float> frame_envelope(const std::vector<float>& audio, const ClipConfig& config);

/// Renders every frame: [T, size, size, 3] uint8 RGB (T = config.n_frames()).
/// `envelopes[i]` is frame_envelope of sources[i]'s audio (drives the speaking mouth).
torch::Tensor render_video(const ClipSpec& spec, const std::vector<std::vector<float>>& envelopes);

}  // namespace v2a::synth
