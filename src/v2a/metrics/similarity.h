// Paired-embedding scores of av-benchmark: IB-score (ImageBind video vs audio embedding) and
// CLAP score (text vs audio embedding) are both the mean cosine similarity over paired clips:
//   torch.cosine_similarity(a, b, dim=-1).mean()   (eps 1e-8 on each norm, as torch)
// MMAudio's paper reports IB ×100 (0.2913 -> 29.13); set `percent` for that.
#pragma once
#include <torch/types.h>

namespace v2a::metrics {

struct CosineScoreOptions {
    bool percent = false;  // multiply by 100 (paper convention)
    double eps = 1e-8;     // torch.cosine_similarity's norm floor
};

/// Per-pair cosine similarity of a, b [N, D] -> [N] float64.
torch::Tensor paired_cosine(const torch::Tensor& a, const torch::Tensor& b, double eps = 1e-8);

/// Mean of paired_cosine (optionally ×100). Same function for IB-score and CLAP score.
double mean_cosine_score(const torch::Tensor& a, const torch::Tensor& b, const CosineScoreOptions& options = {});

}  // namespace v2a::metrics
