#include "v2a/score/audioscore_fit.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/report/plot.h"

namespace v2a::score {

using nlohmann::json;

namespace {

void check_targets(const torch::Tensor& raw, const torch::Tensor& targets, const char* what) {
    V2A_CHECK(raw.defined() && raw.dim() == 2 && raw.size(1) == kNumScores && raw.size(0) >= 1, Usage, what,
              ": raw scores must be [N >= 1, 5], got ", raw.defined() ? raw.sizes() : torch::IntArrayRef{});
    V2A_CHECK(targets.defined() && targets.dim() == 1 && targets.size(0) == raw.size(0), Usage, what,
              ": targets must be [", raw.size(0), "], got ", targets.defined() ? targets.sizes() : torch::IntArrayRef{});
    V2A_CHECK(targets.scalar_type() == torch::kLong, Usage, what, ": targets must be int64");
    V2A_CHECK(targets.min().item<int64_t>() >= 0 && targets.max().item<int64_t>() < kNumRatings, Usage, what,
              ": targets must lie in [0, 3)");
}

// Accuracy and mean cross-entropy of probabilities [N, 3] against targets [N].
std::pair<double, double> accuracy_and_ce(const torch::Tensor& probs, const torch::Tensor& targets) {
    const auto pred = probs.argmax(1);
    const double acc = pred.eq(targets).to(torch::kDouble).mean().item<double>();
    const auto p_true = probs.gather(1, targets.unsqueeze(1)).squeeze(1).clamp_min(1e-12);
    const double ce = -p_true.log().mean().item<double>();
    return {acc, ce};
}

// PyTorch's default Linear init (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias) from a
// private generator, so a fit never depends on, or changes, the global RNG.
void init_linear(torch::nn::Linear& layer, at::Generator& gen) {
    torch::NoGradGuard no_grad;
    const double bound = 1.0 / std::sqrt(double(layer->weight.size(1)));
    layer->weight.uniform_(-bound, bound, gen);
    layer->bias.uniform_(-bound, bound, gen);
}

}  // namespace

torch::Tensor rating_targets(const std::vector<Rating>& ratings) {
    std::vector<int64_t> t;
    t.reserve(ratings.size());
    for (Rating r : ratings) t.push_back(int64_t(r));
    return torch::tensor(t, torch::kLong);
}

std::pair<torch::Tensor, torch::Tensor> score_statistics(const torch::Tensor& raw) {
    V2A_CHECK(raw.defined() && raw.dim() == 2 && raw.size(1) == kNumScores, Usage,
              "AudioScore statistics: raw scores must be [N, 5]");
    const auto x = raw.to(torch::kDouble).contiguous();
    auto mean = torch::zeros({kNumScores}, torch::kDouble), std = torch::ones({kNumScores}, torch::kDouble);
    for (int64_t j = 0; j < kNumScores; ++j) {
        const auto col = x.select(1, j);
        const auto finite = col.masked_select(torch::isfinite(col));
        if (finite.numel() == 0) continue;
        const double m = finite.mean().item<double>();
        const double s = std::sqrt((finite - m).pow(2).mean().item<double>());
        mean[j] = m;
        std[j] = s > 1e-8 ? s : 1.0;
    }
    return {mean, std};
}

FitResult fit_audioscore(const torch::Tensor& raw, const torch::Tensor& targets, const FitOptions& options,
                         const torch::Tensor& class_marginal, const std::vector<std::string>& classes) {
    check_targets(raw, targets, "AudioScore fit");
    V2A_CHECK(options.steps >= 1 && options.lr > 0 && options.batch_size >= 0, Config,
              "AudioScore fit: steps must be >= 1, lr > 0 and batch >= 0");
    V2A_CHECK(!class_marginal.defined() || (class_marginal.dim() == 1 && class_marginal.numel() == int64_t(classes.size())),
              Usage, "AudioScore fit: the class marginal needs one value per class name (", classes.size(), ")");
    AudioScoreOptions mo;
    mo.hidden = options.hidden;
    mo.classes = classes;
    AudioScore model(mo);
    auto gen = at::detail::createCPUGenerator(options.seed);
    init_linear(model->fc1, gen);
    init_linear(model->fc2, gen);
    {
        torch::NoGradGuard no_grad;
        auto [mean, std] = score_statistics(raw);
        model->score_mean.copy_(mean);
        model->score_std.copy_(std);
        if (class_marginal.defined()) model->class_marginal.copy_(class_marginal.to(torch::kDouble));
    }
    const auto x = model->standardise(raw).to(torch::kFloat);   // [N, 5]
    const int64_t N = x.size(0);
    const int64_t batch = options.batch_size == 0 ? N : std::min(options.batch_size, N);
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
    std::mt19937_64 rng(options.seed);
    std::vector<int64_t> order(static_cast<size_t>(N));
    std::iota(order.begin(), order.end(), 0);
    size_t cursor = size_t(N);   // reshuffle at the first minibatch
    FitResult result;
    model->train();
    for (int64_t step = 0; step < options.steps; ++step) {
        torch::Tensor xb = x, tb = targets;
        if (batch < N) {
            if (cursor + size_t(batch) > order.size()) {
                std::shuffle(order.begin(), order.end(), rng);
                cursor = 0;
            }
            auto idx = torch::tensor(std::vector<int64_t>(order.begin() + std::ptrdiff_t(cursor),
                                                          order.begin() + std::ptrdiff_t(cursor) + batch),
                                     torch::kLong);
            cursor += size_t(batch);
            xb = x.index_select(0, idx);
            tb = targets.index_select(0, idx);
        }
        opt.zero_grad();
        auto loss = torch::nn::functional::cross_entropy(model->forward(xb), tb);
        loss.backward();
        opt.step();
        result.losses.push_back(loss.item<double>());
    }
    model->eval();
    result.train_accuracy = accuracy_and_ce(model->probabilities(raw), targets).first;
    result.model = model;
    return result;
}

Calibration calibration(const torch::Tensor& probs, const torch::Tensor& targets, int64_t bins) {
    V2A_CHECK(bins >= 1, Usage, "calibration: bins must be >= 1");
    V2A_CHECK(probs.dim() == 2 && targets.dim() == 1 && probs.size(0) == targets.size(0) && probs.size(0) >= 1,
              Usage, "calibration: probabilities [N, K] and targets [N] expected, got ", probs.sizes(), " and ",
              targets.sizes());
    auto [conf_t, pred_t] = probs.to(torch::kDouble).max(1);
    const auto conf = conf_t.contiguous();
    const auto correct = pred_t.eq(targets).to(torch::kDouble).contiguous();
    Calibration c;
    c.bins.resize(size_t(bins));
    for (int64_t b = 0; b < bins; ++b) {
        c.bins[size_t(b)].lower = double(b) / double(bins);
        c.bins[size_t(b)].upper = double(b + 1) / double(bins);
    }
    const int64_t N = conf.size(0);
    const double* pc = conf.data_ptr<double>();
    const double* pk = correct.data_ptr<double>();
    for (int64_t i = 0; i < N; ++i) {
        // Bin b holds (b/B, (b+1)/B]: the usual ECE convention (Guo et al. 2017).
        const int64_t b = std::clamp<int64_t>(int64_t(std::ceil(pc[i] * double(bins))) - 1, 0, bins - 1);
        auto& bin = c.bins[size_t(b)];
        ++bin.count;
        bin.confidence += pc[i];
        bin.accuracy += pk[i];
    }
    for (auto& bin : c.bins) {
        if (bin.count == 0) continue;
        bin.confidence /= double(bin.count);
        bin.accuracy /= double(bin.count);
        c.ece += double(bin.count) / double(N) * std::abs(bin.accuracy - bin.confidence);
    }
    return c;
}

Confusion confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& targets) {
    V2A_CHECK(predicted.dim() == 1 && predicted.sizes() == targets.sizes(), Usage,
              "confusion matrix: predicted and targets must be [N]");
    Confusion m{};
    const auto p = predicted.to(torch::kLong).contiguous(), t = targets.to(torch::kLong).contiguous();
    for (int64_t i = 0; i < p.size(0); ++i) {
        const int64_t a = t[i].item<int64_t>(), b = p[i].item<int64_t>();
        V2A_CHECK(a >= 0 && a < kNumRatings && b >= 0 && b < kNumRatings, Usage,
                  "confusion matrix: ratings must lie in [0, 3)");
        ++m[size_t(a)][size_t(b)];
    }
    return m;
}

std::vector<Importance> input_importance(AudioScore& model, const torch::Tensor& raw, const torch::Tensor& targets,
                                         int64_t repeats, uint64_t seed) {
    check_targets(raw, targets, "input importance");
    V2A_CHECK(repeats >= 1, Usage, "input importance: repeats must be >= 1");
    torch::NoGradGuard no_grad;
    const auto x = raw.to(torch::kDouble);
    const auto [acc0, ce0] = accuracy_and_ce(model->probabilities(x), targets);
    const auto w = model->fc1->weight.to(torch::kDouble);   // [hidden, 5]
    const int64_t N = x.size(0);
    std::vector<Importance> out;
    for (int64_t j = 0; j < kNumScores; ++j) {
        Importance imp;
        imp.name = kScoreNames[size_t(j)];
        imp.weight_norm = w.select(1, j).norm().item<double>();
        for (int64_t r = 0; r < repeats; ++r) {
            std::mt19937_64 rng(seed * 1000003ULL + uint64_t(j) * 7919ULL + uint64_t(r));
            std::vector<int64_t> perm(static_cast<size_t>(N));
            std::iota(perm.begin(), perm.end(), 0);
            std::shuffle(perm.begin(), perm.end(), rng);
            auto shuffled = x.clone();
            shuffled.select(1, j).copy_(x.select(1, j).index_select(0, torch::tensor(perm, torch::kLong)));
            const auto [acc, ce] = accuracy_and_ce(model->probabilities(shuffled), targets);
            imp.accuracy_drop += (acc0 - acc) / double(repeats);
            imp.cross_entropy_increase += (ce - ce0) / double(repeats);
        }
        out.push_back(imp);
    }
    return out;
}

Evaluation evaluate_audioscore(AudioScore& model, const torch::Tensor& raw, const torch::Tensor& targets,
                               const EvaluationOptions& options) {
    check_targets(raw, targets, "AudioScore evaluation");
    Evaluation e;
    const auto probs = model->probabilities(raw);
    e.n = raw.size(0);
    std::tie(e.accuracy, e.cross_entropy) = accuracy_and_ce(probs, targets);
    if (options.majority_class >= 0)
        e.majority_accuracy = targets.eq(options.majority_class).to(torch::kDouble).mean().item<double>();
    e.confusion = confusion_matrix(probs.argmax(1), targets);
    e.calibration = calibration(probs, targets, options.bins);
    e.importance = input_importance(model, raw, targets, options.repeats, options.seed);
    return e;
}

json Evaluation::to_json() const {
    json bins = json::array();
    for (const auto& b : calibration.bins)
        bins.push_back({{"lower", b.lower}, {"upper", b.upper}, {"count", b.count}, {"confidence", b.confidence},
                        {"accuracy", b.accuracy}});
    json imp = json::array();
    for (const auto& i : importance)
        imp.push_back({{"name", i.name}, {"accuracy_drop", i.accuracy_drop},
                       {"cross_entropy_increase", i.cross_entropy_increase}, {"fc1_weight_norm", i.weight_norm}});
    json matrix = json::array();
    for (const auto& row : confusion) matrix.push_back(row);
    json j = {{"n", n},
              {"accuracy", accuracy},
              {"cross_entropy", cross_entropy},
              {"ece", calibration.ece},
              {"confusion", {{"rows", "true rating"}, {"columns", "predicted rating"},
                             {"labels", {"good", "medium", "bad"}}, {"matrix", matrix}}},
              {"reliability", bins},
              {"importance", imp}};
    if (majority_accuracy >= 0) j["majority_accuracy"] = majority_accuracy;
    return j;
}

void plot_reliability(const std::filesystem::path& path, const Calibration& c, const std::string& title) {
    report::plot_reliability(path, c.bins, c.ece, title);
}

std::string format_evaluation(const Evaluation& e) {
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line, "held-out ratings %lld: accuracy %.3f, cross-entropy %.3f, ECE %.3f",
                  (long long)e.n, e.accuracy, e.cross_entropy, e.calibration.ece);
    out << line;
    if (e.majority_accuracy >= 0) {
        std::snprintf(line, sizeof line, " (majority-class baseline %.3f)", e.majority_accuracy);
        out << line;
    }
    out << "\nconfusion (rows true, columns predicted)\n          good  medium     bad\n";
    const char* names[] = {"good", "medium", "bad"};
    for (int a = 0; a < kNumRatings; ++a) {
        std::snprintf(line, sizeof line, "  %-6s %6lld  %6lld  %6lld\n", names[a], (long long)e.confusion[size_t(a)][0],
                      (long long)e.confusion[size_t(a)][1], (long long)e.confusion[size_t(a)][2]);
        out << line;
    }
    out << "input importance     acc drop   CE rise   |fc1 w|\n";
    for (const auto& i : e.importance) {
        std::snprintf(line, sizeof line, "  %-16s %9.3f %9.3f %9.3f\n", i.name.c_str(), i.accuracy_drop,
                      i.cross_entropy_increase, i.weight_norm);
        out << line;
    }
    return out.str();
}

}  // namespace v2a::score
