// AV-Align (Yariv et al., AAAI 2024; guyyariv/TempoTokens `av_align.py`): IoU between audio onset
// peaks and optical-flow peaks of the video.
//   video: gray frames (OpenCV BGR2GRAY weights), Farneback flow between consecutive frames with
//          (pyr_scale 0.5, levels 3, winsize 15, iterations 3, poly_n 5, poly_sigma 1.2, flags 0),
//          per pair the mean over pixels of |flow|. The trajectory has one value per frame: the
//          first pair's value is duplicated (quirk of the reference: [OF(f0,f1)] + [OF(f_{i-1},f_i)]).
//          Peaks: i in 1..N−2 with traj[i−1] < traj[i] > traj[i+1] (strict) and traj[i] >= 0.1
//          (floor added in the Feb-2025 code), time i / fps.
//   audio: librosa onset_strength + onset_detect at 22050 Hz (v2a::metrics::onset_times).
//   score: av_align_iou (events.h). Dataset score = mean over files.
// Deviation: librosa.load resamples with soxr_hq; callers resample with our own resampler, so
// onset times can move by a frame on borderline peaks.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "v2a/metrics/events.h"
#include "v2a/metrics/onset.h"

namespace v2a::metrics {

struct FarnebackOptions {
    double pyr_scale = 0.5;
    int levels = 3;
    int winsize = 15;
    int iterations = 3;
    int poly_n = 5;
    double poly_sigma = 1.2;
    int flags = 0;
};

struct AvAlignOptions {
    FarnebackOptions flow;
    double video_peak_floor = 0.1;   // 0 reproduces the 2023 code (no floor)
    AvAlignIouOptions iou;           // one_to_one = false reproduces the 2023 code
    OnsetStrengthOptions onset;      // sr 22050: the audio passed in must be at onset.sr
};

/// Mean Farneback flow magnitude per frame of RGB video [T, H, W, 3] uint8 (T >= 2) -> T values.
std::vector<double> optical_flow_trajectory(const torch::Tensor& rgb_frames, const FarnebackOptions& options = {});

/// Strict local maxima at or above `floor`, as times i / fps.
std::vector<double> video_peak_times(const std::vector<double>& trajectory, double fps, double floor = 0.1);

struct AvAlignResult {
    double score = 0.0;
    std::vector<double> audio_peaks;  // seconds
    std::vector<double> video_peaks;  // seconds
    std::vector<double> trajectory;   // per frame
};

/// AV-Align of one clip: frames [T, H, W, 3] uint8 RGB at `fps`, mono audio [S] at options.onset.sr.
AvAlignResult av_align(const torch::Tensor& rgb_frames, double fps, const torch::Tensor& audio,
                       const AvAlignOptions& options = {});

}  // namespace v2a::metrics
