// Frame-level piano-roll metrics (MIDI transcription / piano video-to-audio evaluation) in three
// conventions that give different numbers for the same rolls (say which one a report uses):
//   MirEval: mir_eval.multipitch, micro-averaged over all frames:
//            P = ΣTP/Σn_est, R = ΣTP/Σn_ref, Acc = ΣTP/Σ(n_est + n_ref − TP), each 0 when its
//            denominator is 0; F1 = 2PR/(P+R) (mir_eval.util.f_measure, 0 when P+R = 0).
//            Rolls of integer MIDI keys: "within half a semitone" = same key.
//   Audeo:   sklearn average='samples', zero_division=1 (shlizee/Audeo): per frame P, R, F1 =
//            2TP/(n_est+n_ref), each 1 when its denominator is 0, then averaged over frames
//            (F1 is not the harmonic mean of the averages).
//   CoP:     sklearn average='weighted', zero_division=1 (acappemin/Video-to-Audio-and-Piano):
//            per key P, R, F1 as above, weighted by the key's GT support; 1 if no key has support.
//   Accuracy for Audeo and CoP: mean over frames of TP/(TP+FP+FN), 1 when the denominator is 0.
// Not reproduced here: mir_eval's frequency-list input with nearest-neighbour time resampling
// (pass rolls on a common frame grid), and CoP's 2 s chunk / 4 s window assembly (callers build
// the rolls to compare).
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace v2a::metrics {

enum class FrameConvention { MirEval, Audeo, CoP };

struct FrameScores {
    double precision = 0.0;
    double recall = 0.0;
    double f1 = 0.0;
    double accuracy = 0.0;
};

/// est, ref: piano rolls [T, K] (bool, or numeric: > threshold is active).
struct FrameMetricsOptions {
    FrameConvention convention = FrameConvention::MirEval;
    double threshold = 0.0;  // numeric rolls: active if value > threshold (CoP binarises > 0)
    bool inclusive = false;  // active if value >= threshold instead (Audeo: sigmoid output >= 0.4)
};

FrameScores frame_metrics(const torch::Tensor& est, const torch::Tensor& ref, const FrameMetricsOptions& options = {});

struct Note {
    double onset = 0.0;   // seconds
    double offset = 0.0;  // seconds, > onset
    int pitch = 60;       // MIDI key
};

/// Notes -> roll [frames, num_keys] bool: key (pitch − lowest_pitch) is active in frame t when
/// onset <= t / fps < offset. Notes outside the key range are an error (they would be lost silently).
torch::Tensor notes_to_roll(const std::vector<Note>& notes, double fps, int64_t frames, int lowest_pitch,
                            int64_t num_keys);

}  // namespace v2a::metrics
