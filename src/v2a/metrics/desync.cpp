#include "v2a/metrics/desync.h"

#include "v2a/core/error.h"

namespace v2a::metrics {

std::vector<double> desync_grid(const DesyncOptions& options) {
    V2A_CHECK(options.num_classes >= 2, Usage, "desync: need at least 2 offset classes, got ", options.num_classes);
    // np.linspace: start + i·step, with the last point set exactly to stop.
    std::vector<double> grid(static_cast<size_t>(options.num_classes));
    const double step = (options.grid_max - options.grid_min) / static_cast<double>(options.num_classes - 1);
    for (int64_t i = 0; i < options.num_classes; ++i) grid[static_cast<size_t>(i)] = options.grid_min + i * step;
    grid.back() = options.grid_max;
    return grid;
}

torch::Tensor offsets_from_logits(const torch::Tensor& logits, const DesyncOptions& options) {
    V2A_CHECK(logits.defined() && logits.dim() >= 1, Data, "desync: logits are undefined or scalar");
    V2A_CHECK(logits.size(-1) == options.num_classes, Data, "desync: logits have ", logits.size(-1),
              " classes in the last dimension, expected ", options.num_classes);
    V2A_CHECK(logits.numel() > 0, Data, "desync: logits are empty ", logits.sizes());
    const auto x = logits.to(torch::kCPU, torch::kFloat64);
    V2A_CHECK(!torch::isnan(x).any().item<bool>(), Data, "desync: logits contain NaN");
    const auto grid = torch::tensor(desync_grid(options), torch::kFloat64);
    return grid.index_select(0, x.argmax(-1).flatten()).reshape(x.sizes().slice(0, x.dim() - 1));
}

std::pair<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>> desync_windows(int64_t num_segments,
                                                                                 const DesyncOptions& options) {
    V2A_CHECK(num_segments >= options.window, Data, "desync: clip has ", num_segments,
              " segments, fewer than the scoring window of ", options.window);
    return {{0, options.window}, {num_segments - options.window, num_segments}};
}

double desync_score(const torch::Tensor& offsets) {
    V2A_CHECK(offsets.defined() && offsets.dim() == 2, Data, "desync: offsets must be [N, W]");
    V2A_CHECK(offsets.numel() > 0, Data, "desync: no offsets ", offsets.sizes());
    const auto x = offsets.to(torch::kCPU, torch::kFloat64);
    V2A_CHECK(torch::isfinite(x).all().item<bool>(), Data, "desync: offsets contain NaN or Inf");
    return x.abs().mean().item<double>();
}

double desync_from_logits(const torch::Tensor& logits, const DesyncOptions& options) {
    V2A_CHECK(logits.defined() && logits.dim() == 3, Data, "desync: logits must be [N, W, classes]");
    return desync_score(offsets_from_logits(logits, options));
}

}  // namespace v2a::metrics
