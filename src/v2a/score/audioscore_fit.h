// Fitting AudioScore to ratings and measuring it on held-out ratings.
//
// Fit: standardisation statistics from the training raw scores (NaN ignored), then the MLP trained
// with cross-entropy by AdamW (full batch or seeded minibatches; initialisation from `seed`), so the
// same inputs and options give the same model.
// Evaluation: accuracy, the 3x3 confusion matrix, calibration (ECE over 10 equal-width bins of the
// max probability, and the reliability diagram), and each input's importance: the accuracy drop and
// the cross-entropy rise when that column is shuffled across clips (permutation importance), next to
// the column norm of fc1's weight (what the network reads of a standardised input).
#pragma once
#include <torch/types.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "v2a/report/plot.h"
#include "v2a/score/audio_score.h"

namespace v2a::score {

struct FitOptions {
    int64_t hidden = 16;
    int64_t steps = 300;           // AdamW updates (more overfit the 5 inputs: held-out CE rose at 1000)
    double lr = 1e-2;
    double weight_decay = 1e-3;
    int64_t batch_size = 0;        // 0 = full batch
    uint64_t seed = 0;             // weight init and minibatch order
};

/// Per-column mean and (population) std of raw [N, 5], NaN ignored: [5] float64 each. A column with
/// no finite value gets mean 0 and std 1; a constant column std 1 (it then standardises to 0).
std::pair<torch::Tensor, torch::Tensor> score_statistics(const torch::Tensor& raw);

struct FitResult {
    AudioScore model{nullptr};
    std::vector<double> losses;    // training cross-entropy per step
    double train_accuracy = 0.0;
};

/// raw [N, 5] (NaN = neutral), targets [N] int64 in {0 good, 1 medium, 2 bad}. `class_marginal` [C]
/// and `classes` are stored in the model (the quality score's reference; may be empty).
FitResult fit_audioscore(const torch::Tensor& raw, const torch::Tensor& targets, const FitOptions& options = {},
                         const torch::Tensor& class_marginal = {}, const std::vector<std::string>& classes = {});

using ReliabilityBin = report::ReliabilityBin;  // (lower, upper], count, mean confidence, accuracy
struct Calibration {
    double ece = 0.0;                  // sum_b (n_b / N) |accuracy_b - confidence_b|
    std::vector<ReliabilityBin> bins;
};
/// probs [N, K] (rows sum to 1), targets [N].
Calibration calibration(const torch::Tensor& probs, const torch::Tensor& targets, int64_t bins = 10);

/// confusion[true][predicted] counts; predicted, targets [N] int64 in [0, 3).
using Confusion = std::array<std::array<int64_t, kNumRatings>, kNumRatings>;
Confusion confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& targets);

struct Importance {
    std::string name;
    double accuracy_drop = 0.0;           // accuracy - mean accuracy with the column shuffled
    double cross_entropy_increase = 0.0;  // mean CE with the column shuffled - CE
    double weight_norm = 0.0;             // ||fc1.weight[:, j]||_2
};
/// Permutation importance of each of the 5 inputs, `repeats` seeded shuffles each.
std::vector<Importance> input_importance(AudioScore& model, const torch::Tensor& raw, const torch::Tensor& targets,
                                         int64_t repeats = 5, uint64_t seed = 0);

struct EvaluationOptions {
    int64_t bins = 10;
    int64_t repeats = 5;                // permutation repeats
    uint64_t seed = 0;
    int64_t majority_class = -1;        // >= 0: also report the accuracy of always predicting it
};

struct Evaluation {
    int64_t n = 0;
    double accuracy = 0.0;
    double cross_entropy = 0.0;         // mean -log p(target)
    double majority_accuracy = -1.0;    // < 0 when not asked for
    Confusion confusion{};
    Calibration calibration;
    std::vector<Importance> importance;
    nlohmann::json to_json() const;
};
Evaluation evaluate_audioscore(AudioScore& model, const torch::Tensor& raw, const torch::Tensor& targets,
                               const EvaluationOptions& options = {});

/// Reliability diagram (accuracy and mean confidence per bin against the diagonal) via gnuplot.
void plot_reliability(const std::filesystem::path& path, const Calibration& calibration, const std::string& title);

/// Accuracy, ECE, the confusion matrix and the importance table as text.
std::string format_evaluation(const Evaluation& evaluation);

/// Targets [N] int64 of ratings.
torch::Tensor rating_targets(const std::vector<Rating>& ratings);

}  // namespace v2a::score
