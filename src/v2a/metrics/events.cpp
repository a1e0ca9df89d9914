#include "v2a/metrics/events.h"

#include <cmath>
#include <functional>

#include "v2a/core/error.h"

namespace v2a::metrics {
namespace {

void validate_events(const std::vector<double>& events, const char* which) {
    for (size_t i = 0; i < events.size(); ++i) {
        V2A_CHECK(std::isfinite(events[i]), Data, "onset_f1: ", which, " event ", i, " is not finite");
        V2A_CHECK(events[i] >= 0.0, Data, "onset_f1: ", which, " event ", i, " is negative (", events[i], ")");
        V2A_CHECK(i == 0 || events[i] >= events[i - 1], Data, "onset_f1: ", which,
                  " events are not in increasing order at index ", i);
    }
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> match_events(const std::vector<double>& reference,
                                                      const std::vector<double>& estimated, double window) {
    const size_t nr = reference.size(), ne = estimated.size();
    std::vector<std::vector<size_t>> adj(nr);
    for (size_t i = 0; i < nr; ++i)
        for (size_t j = 0; j < ne; ++j)
            if (std::abs(reference[i] - estimated[j]) <= window) adj[i].push_back(j);
    // Kuhn's augmenting paths: maximum cardinality, like mir_eval's Hopcroft–Karp (the set of
    // matched pairs may differ when several maximum matchings exist; the count does not).
    std::vector<int64_t> est_match(ne, -1);
    std::vector<char> seen;
    std::function<bool(size_t)> augment = [&](size_t i) {
        for (size_t j : adj[i]) {
            if (seen[j]) continue;
            seen[j] = 1;
            if (est_match[j] < 0 || augment(static_cast<size_t>(est_match[j]))) {
                est_match[j] = static_cast<int64_t>(i);
                return true;
            }
        }
        return false;
    };
    for (size_t i = 0; i < nr; ++i) {
        seen.assign(ne, 0);
        augment(i);
    }
    std::vector<std::pair<int64_t, int64_t>> pairs;
    for (size_t j = 0; j < ne; ++j)
        if (est_match[j] >= 0) pairs.emplace_back(est_match[j], static_cast<int64_t>(j));
    std::sort(pairs.begin(), pairs.end());
    return pairs;
}

PrecisionRecallF1 onset_f1(const std::vector<double>& reference, const std::vector<double>& estimated,
                           const OnsetF1Options& options) {
    V2A_CHECK(options.window >= 0.0 && std::isfinite(options.window), Usage, "onset_f1: bad window ",
              options.window);
    validate_events(reference, "reference");
    validate_events(estimated, "estimated");
    PrecisionRecallF1 out;
    if (reference.empty() || estimated.empty()) return out;
    out.matches = static_cast<int64_t>(match_events(reference, estimated, options.window).size());
    out.precision = static_cast<double>(out.matches) / static_cast<double>(estimated.size());
    out.recall = static_cast<double>(out.matches) / static_cast<double>(reference.size());
    if (out.precision + out.recall > 0.0)
        out.f1 = 2.0 * out.precision * out.recall / (out.precision + out.recall);
    return out;
}

double av_align_iou(const std::vector<double>& audio_peaks, const std::vector<double>& video_peaks, double fps,
                    const AvAlignIouOptions& options) {
    V2A_CHECK(std::isfinite(fps) && fps > 0.0, Data, "av_align: frame rate must be positive, got ", fps);
    V2A_CHECK(!audio_peaks.empty() || !video_peaks.empty(), Data,
              "av_align: no audio onsets and no video peaks (IoU undefined; the reference divides by zero)");
    for (double a : audio_peaks) V2A_CHECK(std::isfinite(a), Data, "av_align: audio peak time is not finite");
    for (double v : video_peaks) V2A_CHECK(std::isfinite(v), Data, "av_align: video peak time is not finite");
    const double frame = 1.0 / fps;
    std::vector<char> used(video_peaks.size(), 0);
    int64_t intersection = 0;
    for (double a : audio_peaks) {
        for (size_t j = 0; j < video_peaks.size(); ++j) {
            const double v = video_peaks[j];
            if (!used[j] && v - frame < a && a < v + frame) {
                ++intersection;
                used[j] = options.one_to_one ? 1 : 0;
                break;
            }
        }
    }
    const auto uni = static_cast<double>(audio_peaks.size() + video_peaks.size()) - static_cast<double>(intersection);
    return static_cast<double>(intersection) / uni;
}

}  // namespace v2a::metrics
