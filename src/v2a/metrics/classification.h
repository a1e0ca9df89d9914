// Metrics on classifier logits (PANNs / PaSST 527-class outputs in av-benchmark):
// KL divergence between paired predictions and the Inception score.
#pragma once
#include <torch/types.h>

#include <cstdint>

namespace v2a::metrics {

enum class KlConvention {
    AvBenchmark,   // kl_div(log_softmax(pred), log_softmax(gt), log_target, sum) / N: no eps
    AudioLdmEval,  // kl_div(log(softmax(pred) + 1e-6), softmax(gt), sum) / N: eps inside pred's log
};

struct KlOptions {
    KlConvention convention = KlConvention::AvBenchmark;
    double eps = 1e-6;  // only used by AudioLdmEval
};

/// Softmax KL(gt ‖ pred), summed over classes, averaged over the N pairs (the reference's
/// `reduction='sum' / N`). pred_logits, gt_logits: [N, C], row i of each is one pair.
double kl_softmax(const torch::Tensor& pred_logits, const torch::Tensor& gt_logits, const KlOptions& options = {});

/// av-benchmark's "kl_sigmoid" (computed but not reported there): (1/N) Σ σ(g)(log σ(g) − log σ(x)).
/// Not a Bernoulli KL (the 1−σ terms are missing), so it can be negative. AudioLdmEval puts
/// +eps inside the log of sigmoid(pred) instead.
double kl_sigmoid(const torch::Tensor& pred_logits, const torch::Tensor& gt_logits, const KlOptions& options = {});

struct InceptionOptions {
    int64_t splits = 10;
    bool shuffle = true;         // rows permuted with numpy RandomState(seed).permutation(N), bit-exact
    uint32_t seed = 2020;
};

struct InceptionScore {
    double mean = 0.0;
    double std = 0.0;  // population std (np.std, ddof 0) over the splits
};

/// Each clip's term of the Inception score: KL(p_i || q) = sum_c p_ic (log p_ic - log q_c), p_i =
/// softmax(logits_i), float64 [N]. q = `marginal` [C] (probabilities) when given, else the mean of p
/// over the N rows (as IS computes it within a split).
torch::Tensor inception_kl_terms(const torch::Tensor& logits, const torch::Tensor& marginal = {});

/// IS from logits [N, C] (softmax, float64): per split k (rows [k·N/S, (k+1)·N/S)),
/// exp(mean_i KL(p_i ‖ mean p)). Needs N >= splits.
InceptionScore inception_score(const torch::Tensor& logits, const InceptionOptions& options = {});

}  // namespace v2a::metrics
