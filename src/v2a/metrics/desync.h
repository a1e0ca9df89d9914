// DeSync aggregation of av-benchmark (Synchformer offset classifier; the model itself lives
// elsewhere): for every clip the classifier is run on the first and on the last `window`
// segments (14 of the 24 segments of an 8 s clip = 0–4.8 s and 3.2–8.0 s); each run's logits
// over 21 offset classes are turned into an offset = grid[argmax], grid = linspace(-2, 2, 21)
// seconds; DeSync = mean |offset| over all 2·N windows (equivalently over windows, then clips,
// since every clip has the same number of windows).
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace v2a::metrics {

struct DesyncOptions {
    double grid_min = -2.0;      // seconds, offset of class 0
    double grid_max = 2.0;       // seconds, offset of the last class
    int64_t num_classes = 21;    // 0.2 s steps
    int64_t window = 14;         // segments per scoring window
};

/// The offset grid in seconds: linspace(grid_min, grid_max, num_classes).
std::vector<double> desync_grid(const DesyncOptions& options = {});

/// Offsets in seconds from logits [..., num_classes] (argmax, first maximum on ties) -> [...].
torch::Tensor offsets_from_logits(const torch::Tensor& logits, const DesyncOptions& options = {});

/// Segment ranges [begin, end) of the first and last scoring window for a clip of
/// `num_segments` segments (24 for 8 s). Needs num_segments >= window.
std::pair<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>> desync_windows(int64_t num_segments,
                                                                                 const DesyncOptions& options = {});

/// DeSync from per-window offsets [N, W] in seconds (W = 2 in av-benchmark): mean |offset|.
double desync_score(const torch::Tensor& offsets);

/// DeSync from logits [N, W, num_classes].
double desync_from_logits(const torch::Tensor& logits, const DesyncOptions& options = {});

}  // namespace v2a::metrics
