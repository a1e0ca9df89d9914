// Event-time metrics: mir_eval-style onset F-measure (one-to-one matching within a tolerance)
// and AV-Align's peak IoU (Yariv et al., TempoTokens `av_align.py`).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace v2a::metrics {

struct OnsetF1Options {
    double window = 0.1;  // seconds; |ref − est| <= window (mir_eval's default is 0.05; we use ±100 ms)
};

struct PrecisionRecallF1 {
    double precision = 0.0;
    double recall = 0.0;
    double f1 = 0.0;
    int64_t matches = 0;
};

/// Maximum one-to-one matching between sorted event lists where |ref[i] − est[j]| <= window
/// (mir_eval.util.match_events: maximum bipartite matching). Returns (ref index, est index) pairs.
std::vector<std::pair<int64_t, int64_t>> match_events(const std::vector<double>& reference,
                                                      const std::vector<double>& estimated, double window);

/// mir_eval.onset.f_measure: P = matches/|est|, R = matches/|ref|, F = 2PR/(P+R) (0 if P+R = 0).
/// If either list is empty, all three are 0 (mir_eval warns and returns zeros). Events must be
/// finite, non-negative and non-decreasing (mir_eval.util.validate_events).
PrecisionRecallF1 onset_f1(const std::vector<double>& reference, const std::vector<double>& estimated,
                           const OnsetF1Options& options = {});

struct AvAlignIouOptions {
    /// Current TempoTokens (Feb 2025): a matched video peak is marked used (one-to-one).
    /// false = the 2023 code, where several audio peaks may count against one video peak.
    bool one_to_one = true;
};

/// AV-Align IoU between audio-onset times and video-peak times (seconds), as the reference:
/// for each audio peak in order, the first (unused) video peak v with v − 1/fps < a < v + 1/fps
/// (strict, open ±1 frame window) is counted (and marked used) — greedy in list order, not a
/// maximum matching; IoU = I / (|A| + |V| − I). Both lists empty: the reference divides by
/// zero; we throw Data.
double av_align_iou(const std::vector<double>& audio_peaks, const std::vector<double>& video_peaks, double fps,
                    const AvAlignIouOptions& options = {});

}  // namespace v2a::metrics
