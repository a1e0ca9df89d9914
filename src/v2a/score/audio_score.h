// AudioScore (V2A-DPO): five frozen-judge scores per generated clip, mapped by a small MLP to
// P(Good), P(Medium), P(Bad), fit with cross-entropy to ratings (human or simulated).
//
// The five raw scores, in this column order (kScoreNames):
//   0 ib_score   cosine(video, audio) of the ImageBind-role judge (stand-in)
//   1 clap_score cosine(text, audio) of the CLAP-role judge; NaN (neutral) when the caption is empty
//   2 desync     seconds, mean |argmax offset| over the first and last window (Synchformer role)
//   3 quality    KL(p_clip || p_marginal) of the PANNs-role classifier: the clip's contribution to IS
//   4 pesq       PESQ WB against the ground-truth audio; NaN (neutral) unless the clip is speech
// NaN = neutral: after standardisation with the stored statistics it becomes 0 (the mean).
// Network: Linear(5 -> hidden) -> ReLU -> Linear(hidden -> 3) -> Softmax.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"
#include "v2a/judge/judges.h"
#include "v2a/score/labels.h"

namespace v2a::score {

constexpr int kNumScores = 5;
extern const std::array<const char*, kNumScores> kScoreNames;

/// A batch of N generated clips to score.
struct ScoreInputs {
    torch::Tensor frames;                 // [N, T, H, W, 3] uint8 at 25 fps: the video each clip was made for
    torch::Tensor audio;                  // [N, S] float32, 16 kHz
    std::vector<std::string> captions;    // N; "" = no text (CLAP neutral)
    torch::Tensor reference_audio;        // [N, S] ground truth for PESQ; undefined = PESQ neutral for all
    std::vector<bool> is_speech;          // N (empty = none); PESQ only where true
};

/// The inputs for generated `audio` [rows.size(), S] made for clips[rows]: their frames, captions and
/// ground-truth audio, speech flags from the ground truth (the label "speech" when there is none).
ScoreInputs score_inputs(const io::ClipDataset& clips, const std::vector<int64_t>& rows, const torch::Tensor& audio);

/// Raw scores [N, 5] float64 (NaN = neutral). `class_marginal` [C]: the classifier marginal the
/// quality score is measured against (AudioScore stores the one of its training clips); undefined =
/// the marginal of this batch. Throws v2a::Error(Model) when a needed judge is missing.
torch::Tensor compute_raw_scores(judge::Judges& judges, const ScoreInputs& inputs,
                                 const torch::Tensor& class_marginal = {});

/// Mean softmax [C] float64 of the PANNs-role classifier over audio [N, S]: the marginal the quality
/// score of later clips is measured against. Throws v2a::Error(Model) when the classifier is missing.
torch::Tensor classifier_marginal(judge::Judges& judges, const torch::Tensor& audio);

/// PESQ given to a speech clip whose audio is silent (PESQ itself refuses silence): the bottom of
/// the MOS-LQO scale, so silence is never mistaken for neutral.
constexpr double kPesqOfSilence = 1.0;

struct AudioScoreOptions {
    int64_t hidden = 16;
    /// The classifier's class names, in logit order (size of class_marginal; may be empty when the
    /// model is fit without judges, e.g. in tests).
    std::vector<std::string> classes;
};

class AudioScoreImpl : public torch::nn::Module {
public:
    explicit AudioScoreImpl(AudioScoreOptions options = {});
    /// Standardised scores [N, 5] (no NaN) -> logits [N, 3].
    torch::Tensor forward(const torch::Tensor& standardised);
    /// Raw scores [N, 5] (NaN allowed) -> standardised [N, 5] with NaN -> 0.
    torch::Tensor standardise(const torch::Tensor& raw) const;
    /// Raw scores [N, 5] -> probabilities [N, 3] (Good, Medium, Bad), float64, no gradients.
    torch::Tensor probabilities(const torch::Tensor& raw);

    const AudioScoreOptions& options() const { return options_; }
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
    torch::Tensor score_mean, score_std;   // [5] buffers (statistics of the training scores)
    torch::Tensor class_marginal;          // [C] buffer (classifier marginal of the training clips)

private:
    AudioScoreOptions options_;
};
TORCH_MODULE(AudioScore);

void save_audioscore(const std::filesystem::path& path, AudioScore& model);
AudioScore load_audioscore(const std::filesystem::path& path);

/// Judges + AudioScore: probabilities [N, 3] for a batch of generated clips.
class AudioScorer {
public:
    AudioScorer(judge::Judges judges, AudioScore model);
    /// Loads DIR/<judge>.safetensors and the AudioScore file.
    static AudioScorer load(const std::filesystem::path& judges_dir, const std::filesystem::path& model_path);
    torch::Tensor raw_scores(const ScoreInputs& inputs);
    torch::Tensor probabilities(const ScoreInputs& inputs);
    AudioScore& model() { return model_; }
    judge::Judges& judges() { return judges_; }

private:
    judge::Judges judges_;
    AudioScore model_;
};

}  // namespace v2a::score
