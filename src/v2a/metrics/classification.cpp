#include "v2a/metrics/classification.h"

#include <cmath>

#include "v2a/core/error.h"
#include "v2a/metrics/numpy_random.h"

namespace v2a::metrics {
namespace {

torch::Tensor checked_logits(const torch::Tensor& t, const char* fn, const char* which) {
    V2A_CHECK(t.defined(), Data, fn, ": ", which, " logits are undefined");
    V2A_CHECK(t.dim() == 2, Data, fn, ": ", which, " logits must be [N, C], got ", t.sizes());
    V2A_CHECK(t.size(0) > 0 && t.size(1) > 0, Data, fn, ": ", which, " logits are empty ", t.sizes());
    V2A_CHECK(t.is_floating_point(), Data, fn, ": ", which, " logits must be floating point");
    auto x = t.to(torch::kCPU, torch::kFloat64);
    V2A_CHECK(torch::isfinite(x).all().item<bool>(), Data, fn, ": ", which, " logits contain NaN or Inf");
    return x;
}

void check_pair(const torch::Tensor& pred, const torch::Tensor& gt, const char* fn) {
    V2A_CHECK(pred.sizes() == gt.sizes(), Data, fn, ": pred logits ", pred.sizes(), " and gt logits ", gt.sizes(),
              " differ in shape");
}

}  // namespace

double kl_softmax(const torch::Tensor& pred_logits, const torch::Tensor& gt_logits, const KlOptions& options) {
    const auto pred = checked_logits(pred_logits, "kl_softmax", "pred");
    const auto gt = checked_logits(gt_logits, "kl_softmax", "gt");
    check_pair(pred, gt, "kl_softmax");
    const auto log_gt = torch::log_softmax(gt, 1);
    const auto p_gt = log_gt.exp();
    torch::Tensor log_pred;
    if (options.convention == KlConvention::AvBenchmark) {
        log_pred = torch::log_softmax(pred, 1);
    } else {
        log_pred = (torch::softmax(pred, 1) + options.eps).log();
    }
    // torch.kl_div(input=log q, target=p) = p (log p − log q), with 0 where p == 0.
    const auto terms = torch::where(p_gt > 0, p_gt * (log_gt - log_pred), torch::zeros_like(p_gt));
    return terms.sum().item<double>() / static_cast<double>(pred.size(0));
}

double kl_sigmoid(const torch::Tensor& pred_logits, const torch::Tensor& gt_logits, const KlOptions& options) {
    const auto pred = checked_logits(pred_logits, "kl_sigmoid", "pred");
    const auto gt = checked_logits(gt_logits, "kl_sigmoid", "gt");
    check_pair(pred, gt, "kl_sigmoid");
    const auto log_gt = torch::log_sigmoid(gt);
    const auto p_gt = log_gt.exp();
    torch::Tensor log_pred;
    if (options.convention == KlConvention::AvBenchmark) {
        log_pred = torch::log_sigmoid(pred);
    } else {
        log_pred = (torch::sigmoid(pred) + options.eps).log();
    }
    return (p_gt * (log_gt - log_pred)).sum().item<double>() / static_cast<double>(pred.size(0));
}

torch::Tensor inception_kl_terms(const torch::Tensor& logits, const torch::Tensor& marginal) {
    const auto x = checked_logits(logits, "inception_kl_terms", "input");
    const auto p = torch::softmax(x, 1);
    const auto log_p = torch::log_softmax(x, 1);
    torch::Tensor log_q;
    if (marginal.defined()) {
        V2A_CHECK(marginal.dim() == 1 && marginal.size(0) == x.size(1), Data, "inception_kl_terms: marginal ",
                  marginal.sizes(), " does not match ", x.size(1), " classes");
        log_q = marginal.to(torch::kCPU, torch::kFloat64).log().unsqueeze(0);
    } else {
        log_q = p.mean(0, true).log();
    }
    return (p * (log_p - log_q)).sum(1);
}

InceptionScore inception_score(const torch::Tensor& logits, const InceptionOptions& options) {
    auto x = checked_logits(logits, "inception_score", "input");
    const int64_t n = x.size(0);
    V2A_CHECK(options.splits >= 1, Usage, "inception_score: splits must be >= 1, got ", options.splits);
    V2A_CHECK(n >= options.splits, Data, "inception_score: ", n, " samples cannot fill ", options.splits, " splits");
    if (options.shuffle) {
        const auto perm = NumpyRandomState(options.seed).permutation(n);
        x = x.index_select(0, torch::tensor(perm, torch::kLong));
    }
    std::vector<double> scores;
    for (int64_t k = 0; k < options.splits; ++k) {
        const int64_t begin = k * n / options.splits;
        const int64_t end = (k + 1) * n / options.splits;
        const double kl = inception_kl_terms(x.slice(0, begin, end)).mean().item<double>();
        scores.push_back(std::exp(kl));
    }
    InceptionScore out;
    for (double s : scores) out.mean += s;
    out.mean /= static_cast<double>(scores.size());
    double var = 0.0;
    for (double s : scores) var += (s - out.mean) * (s - out.mean);
    out.std = std::sqrt(var / static_cast<double>(scores.size()));
    return out;
}

}  // namespace v2a::metrics
