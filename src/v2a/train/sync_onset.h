// Onset-strength targets per sync token: the auxiliary signal that teaches the sync encoder (the
// Synchformer stand-in) to carry the timing the flow network needs. Synchformer is pretrained to tell
// whether audio and video are in sync; our encoder is trained with the generator instead, and without
// a timing signal of its own its features collapse to one vector whatever the video (D10).
//
//   audio [B, S] at sample_rate -> librosa onset strength (n_fft 1024, hop 128: 125 frames/s at 16 kHz) -> per sync token, the
//   largest envelope value inside the token's window (sync_token_window: the time the encoder's layout
//   gives the token) -> divided by the clip's largest token value (a silent clip stays 0) -> [B, Ns] in [0, 1]
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <utility>

#include "v2a/model/sync_encoder.h"

namespace v2a::train {

/// Window of sync token `token` (0 .. Ns-1) of a clip of frames25 frames, in seconds: [begin, end).
///   Segment: token j of segment s covers frames 8s + 2j, 8s + 2j + 1: [(8s + 2j) / 25, (8s + 2j + 2) / 25).
///   Uniform: the Ns tokens tile the clip, [k, k + 1) * duration / Ns -- the latent frames MMAudio's
///            nearest-exact upsampling gives token k, centred on its time (k + 0.5) * duration / Ns.
/// Throws v2a::Error(Data) for a token outside 0 .. Ns-1 or a clip shorter than one segment.
std::pair<double, double> sync_token_window(int64_t token, model::SyncTokenLayout layout, int64_t frames25);

/// Targets [B, Ns] (float) for clips of frames25 frames at 25 fps, windows from `layout`. Throws
/// v2a::Error(Data) for a non-2-D audio batch or audio shorter than the frames' duration.
torch::Tensor sync_onset_targets(const torch::Tensor& audio, int sample_rate, int64_t frames25,
                                 model::SyncTokenLayout layout);

/// Mean squared error of the encoder's onset predictions [B, Ns] against targets [B, Ns].
torch::Tensor sync_onset_loss(const torch::Tensor& predicted, const torch::Tensor& targets);

}  // namespace v2a::train
