#include "v2a/metrics/av_align.h"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "v2a/core/error.h"

namespace v2a::metrics {
namespace {

cv::Mat gray_frame(const torch::Tensor& frames, int64_t t) {
    auto f = frames[t].contiguous();
    cv::Mat rgb(static_cast<int>(f.size(0)), static_cast<int>(f.size(1)), CV_8UC3, f.data_ptr<uint8_t>());
    cv::Mat gray;
    // Our frames are RGB; RGB2GRAY on them equals the reference's BGR2GRAY on OpenCV's BGR frames.
    cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
    return gray;
}

double mean_flow(const cv::Mat& prev, const cv::Mat& curr, const FarnebackOptions& o) {
    cv::Mat flow;
    cv::calcOpticalFlowFarneback(prev, curr, flow, o.pyr_scale, o.levels, o.winsize, o.iterations, o.poly_n,
                                 o.poly_sigma, o.flags);
    cv::Mat parts[2];
    cv::split(flow, parts);
    cv::Mat magnitude;
    cv::magnitude(parts[0], parts[1], magnitude);
    return cv::mean(magnitude)[0];
}

}  // namespace

std::vector<double> optical_flow_trajectory(const torch::Tensor& rgb_frames, const FarnebackOptions& options) {
    V2A_CHECK(rgb_frames.defined() && rgb_frames.dim() == 4 && rgb_frames.size(3) == 3, Data,
              "av_align: frames must be [T, H, W, 3], got ",
              rgb_frames.defined() ? rgb_frames.sizes() : torch::IntArrayRef{});
    V2A_CHECK(rgb_frames.scalar_type() == torch::kUInt8, Data, "av_align: frames must be uint8, got ",
              rgb_frames.scalar_type());
    V2A_CHECK(rgb_frames.size(0) >= 2, Data, "av_align: need at least 2 frames for optical flow, got ",
              rgb_frames.size(0));
    V2A_CHECK(rgb_frames.size(1) > 0 && rgb_frames.size(2) > 0, Data, "av_align: frames are empty");
    const auto frames = rgb_frames.to(torch::kCPU).contiguous();
    const int64_t n = frames.size(0);
    std::vector<double> traj;
    traj.reserve(static_cast<size_t>(n));
    cv::Mat prev = gray_frame(frames, 0);
    for (int64_t t = 1; t < n; ++t) {
        cv::Mat curr = gray_frame(frames, t);
        traj.push_back(mean_flow(prev, curr, options));
        prev = curr;
    }
    traj.insert(traj.begin(), traj.front());  // reference quirk: OF(f0, f1) appears twice
    return traj;
}

std::vector<double> video_peak_times(const std::vector<double>& trajectory, double fps, double floor) {
    V2A_CHECK(std::isfinite(fps) && fps > 0.0, Data, "av_align: frame rate must be positive, got ", fps);
    std::vector<double> peaks;
    for (size_t i = 1; i + 1 < trajectory.size(); ++i) {
        if (trajectory[i - 1] < trajectory[i] && trajectory[i] > trajectory[i + 1] && trajectory[i] >= floor)
            peaks.push_back(static_cast<double>(i) / fps);
    }
    return peaks;
}

AvAlignResult av_align(const torch::Tensor& rgb_frames, double fps, const torch::Tensor& audio,
                       const AvAlignOptions& options) {
    AvAlignResult r;
    r.trajectory = optical_flow_trajectory(rgb_frames, options.flow);
    r.video_peaks = video_peak_times(r.trajectory, fps, options.video_peak_floor);
    r.audio_peaks = onset_times(audio, options.onset);
    r.score = av_align_iou(r.audio_peaks, r.video_peaks, fps, options.iou);
    return r;
}

}  // namespace v2a::metrics
