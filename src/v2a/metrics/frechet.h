// Fréchet distance between two Gaussians fitted to feature sets (FAD / FD_VGG / FD_PANNs /
// FD_PaSST), as av-benchmark `metrics/fad.py` computes it (adapted from pytorch-fid):
//   d² = |μ1−μ2|² + Tr Σ1 + Tr Σ2 − 2 Tr sqrtm(Σ1 Σ2)
// with μ = column mean and Σ = np.cov(E, rowvar=False) (unbiased, divides by N−1), all in double.
//
// Tr sqrtm(Σ1 Σ2) is computed as Σ_i sqrt(λ_i) of the symmetric PSD matrix sqrt(Σ1) Σ2 sqrt(Σ1)
// (same eigenvalues as Σ1 Σ2) with two symmetric eigendecompositions and tiny negative
// eigenvalues clamped to 0, instead of scipy's general Schur-based sqrtm. On the scipy fixtures
// (tests/data/metrics/fd_fixtures.json, incl. N < D and constant features) the two agree to
// < 1e-9 relative. The reference retries with (Σ + eps·I) only when scipy's sqrtm returns
// non-finite entries; the symmetric form never does for finite input, so the retry here fires
// only if the eigen-solver itself yields non-finite values (or when forced by options).
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>

namespace v2a::metrics {

/// Mean and covariance of a feature set.
struct GaussianStats {
    torch::Tensor mean;  // [D] float64
    torch::Tensor cov;   // [D, D] float64, unbiased (N−1)
    int64_t count = 0;   // N rows the statistics came from
};

struct FrechetOptions {
    double eps = 1e-6;           // diagonal offset of the reference's fallback branch
    bool force_eps = false;      // always use (Σ1+eps I)(Σ2+eps I): the value scipy's fallback gives
};

/// Statistics of `features` [N, D] (any floating dtype; computed in float64). N >= 2.
/// `what` names the feature set in error messages (e.g. a cache file path).
GaussianStats gaussian_stats(const torch::Tensor& features, const std::string& what = "features");

/// d² between two Gaussians (same D). Throws v2a::Error(Data) on mismatched shapes or NaN/Inf.
double frechet_distance(const GaussianStats& a, const GaussianStats& b, const FrechetOptions& options = {});

/// Convenience: gaussian_stats on both sets, then frechet_distance. [Na, D], [Nb, D].
double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b,
                        const FrechetOptions& options = {});

/// Tr sqrtm(Σ1 Σ2) for symmetric PSD Σ1, Σ2 [D, D] float64 (eigenvalues clamped at 0).
double trace_sqrt_product(const torch::Tensor& cov_a, const torch::Tensor& cov_b);

}  // namespace v2a::metrics
