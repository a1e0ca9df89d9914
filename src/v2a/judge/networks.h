// The STAND-IN judge networks (small CPU models trained only on ground-truth train clips):
//   VideoAudioJudge  - ImageBind role: video and audio towers, symmetric InfoNCE, learned temperature
//   TextAudioJudge   - LAION-CLAP role: hashed bag-of-words text tower and an audio tower, InfoNCE
//   SyncNet          - Synchformer role: offset classifier over a grid by feature cross-correlation
//   CnnClassifier    - PANNs role: 2-D CNN on log-mel, penultimate 128-d embedding
//   PatchTransformer - PaSST role: 16x16 mel patches + transformer encoder, CLS embedding
// Every audio tower uses the judge front end: 64-band log10 mel, n_fft 512, hop 160 (10 ms), 50-8000 Hz
// (PANNs' 16 kHz setting), standardised with the train set's mean and std stored as a buffer.
// Video towers see 32x32 RGB frames plus the difference to the previous frame (motion cue).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/transformer.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace v2a::judge {

/// Judge kinds, also the file stems DIR/<kind>.safetensors.
constexpr const char* kVideoAudio = "video_audio";
constexpr const char* kTextAudio = "text_audio";
constexpr const char* kSync = "sync";
constexpr const char* kCnn = "cnn";
constexpr const char* kTransformer = "transformer";
/// All judge kinds in training order.
const std::vector<std::string>& judge_kinds();
/// The pretrained model each stand-in replaces, e.g. "ImageBind (stand-in)".
std::string judge_role(const std::string& kind);

/// The offset grid of the sync judge: linspace(min, max, classes) seconds.
struct OffsetGrid {
    double min = -1.0, max = 1.0;   // default: +-1 s in 0.1 s steps (4 s clips)
    int64_t classes = 21;
    static OffsetGrid mmaudio() { return {-2.0, 2.0, 21}; }  // MMAudio / av-benchmark: +-2 s, 0.2 s steps
    double step() const { return (max - min) / double(classes - 1); }
    double offset(int64_t k) const { return min + step() * double(k); }
    std::vector<double> offsets() const;
    /// Class whose offset is nearest to `seconds` (clamped to the grid).
    int64_t nearest_class(double seconds) const;
};

/// Everything needed to rebuild a judge network; stored as JSON in the checkpoint's metadata.
struct JudgeConfig {
    std::string kind;
    int64_t embed_dim = 128;          // embedding size of the contrastive judges
    int64_t frame_size = 32;          // video towers resize frames to this square size (sync: 16, cheaper per frame)
    int64_t video_frames = 16;        // video_audio: frames sampled uniformly over the clip
    double clip_seconds = 4.0;        // classifiers pad / crop audio to this length (PaSST pads to 10 s)
    int64_t text_buckets = 4096;      // hashed word + bigram ids
    OffsetGrid grid;                  // sync
    double window_seconds = 2.0;      // sync: length of one scoring window
    std::vector<std::string> classes; // classifiers: label of each logit
    double mel_mean = 0.0, mel_std = 1.0;  // initial values of the front-end statistics

    std::string to_json() const;
    /// Throws v2a::Error(Data) naming `what` on a malformed or unknown config.
    static JudgeConfig from_json(const std::string& text, const std::string& what);
};

/// Judge front end: audio [B, S] 16 kHz -> log10 mel [B, 64, 1 + (S - 160) / 160].
torch::Tensor judge_log_mel(const torch::Tensor& audio);
/// Frames [B, T, H, W, 3] uint8 -> [B, T, 6, size, size] float: RGB scaled to about [-2, 2] and the
/// difference to the previous frame (zero for the first).
torch::Tensor prepare_frames(const torch::Tensor& frames, int64_t size);
/// Judge-local hashed tokenizer: lowercase words (split on non-alphanumerics) and word bigrams,
/// FNV-1a hashed into [0, buckets). An empty text gives an empty list.
std::vector<int64_t> text_bag(const std::string& text, int64_t buckets);

/// Per-frame 2-D CNN (three stride-2 convolutions of width, 2 width, out channels): [N, 6, s, s] -> [N, out].
class FrameEncoderImpl : public torch::nn::Module {
public:
    explicit FrameEncoderImpl(int64_t out = 64, int64_t width = 16);
    torch::Tensor forward(const torch::Tensor& x);

private:
    torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(FrameEncoder);

/// 1-D convolution stack over mel frames: [B, 64, F] -> pooled [B, out].
class MelSequenceEncoderImpl : public torch::nn::Module {
public:
    explicit MelSequenceEncoderImpl(int64_t out = 128);
    torch::Tensor forward(const torch::Tensor& mel);

private:
    torch::nn::Sequential net_{nullptr};
    torch::nn::Linear proj_{nullptr};
};
TORCH_MODULE(MelSequenceEncoder);

/// Base of every judge module: the config and the front-end statistics buffer ("mel_stats" = [mean, std]).
class JudgeModuleImpl : public torch::nn::Module {
public:
    explicit JudgeModuleImpl(JudgeConfig config);
    const JudgeConfig& config() const { return config_; }
    /// Standardised judge log-mel of audio [B, S].
    torch::Tensor mel(const torch::Tensor& audio) const;
    void set_mel_stats(double mean, double std);

protected:
    JudgeConfig config_;
    torch::Tensor mel_stats_;
};

class VideoAudioJudgeImpl : public JudgeModuleImpl {
public:
    explicit VideoAudioJudgeImpl(JudgeConfig config);
    torch::Tensor embed_video(const torch::Tensor& frames);   // [B, T, H, W, 3] -> [B, D]
    torch::Tensor embed_audio(const torch::Tensor& audio);    // [B, S] -> [B, D]
    torch::Tensor logit_scale() const { return logit_scale_; }

private:
    FrameEncoder frames_{nullptr};
    torch::nn::Conv1d temporal_{nullptr};
    torch::nn::Linear video_proj_{nullptr};
    MelSequenceEncoder audio_{nullptr};
    torch::Tensor logit_scale_;
};
TORCH_MODULE(VideoAudioJudge);

class TextAudioJudgeImpl : public JudgeModuleImpl {
public:
    explicit TextAudioJudgeImpl(JudgeConfig config);
    torch::Tensor embed_text(const std::vector<std::string>& texts);  // -> [B, D]
    torch::Tensor embed_audio(const torch::Tensor& audio);            // [B, S] -> [B, D]
    torch::Tensor logit_scale() const { return logit_scale_; }

private:
    torch::nn::EmbeddingBag words_{nullptr};
    torch::nn::Sequential text_mlp_{nullptr};
    MelSequenceEncoder audio_{nullptr};
    torch::Tensor logit_scale_;
};
TORCH_MODULE(TextAudioJudge);

/// Offset classifier. Video and audio become feature sequences at 50 Hz; for each grid offset the
/// mean cosine similarity of video step i and audio step i - offset*50 over their overlap is one
/// score, and a small MLP on the score vector refines the logits.
class SyncNetImpl : public JudgeModuleImpl {
public:
    explicit SyncNetImpl(JudgeConfig config);
    /// frames [B, Tw, H, W, 3] uint8, audio [B, Sw] -> logits [B, classes].
    torch::Tensor forward(const torch::Tensor& frames, const torch::Tensor& audio);

private:
    FrameEncoder frames_{nullptr};
    torch::nn::Sequential video_temporal_{nullptr}, audio_front_{nullptr}, audio_temporal_{nullptr};
    torch::nn::Sequential head_{nullptr};
    torch::Tensor scale_;
    std::vector<int64_t> lags_;  // audio step offset per class at 50 Hz
};
TORCH_MODULE(SyncNet);

struct ClassifierOutput {
    torch::Tensor logits;     // [B, C]
    torch::Tensor embedding;  // [B, D]
};

/// Pads with silence / crops audio [B, S] to `seconds` at 16 kHz.
torch::Tensor fit_length(const torch::Tensor& audio, double seconds);

class CnnClassifierImpl : public JudgeModuleImpl {
public:
    explicit CnnClassifierImpl(JudgeConfig config);
    ClassifierOutput forward(const torch::Tensor& audio);

private:
    torch::nn::Sequential blocks_{nullptr};
    torch::nn::Linear fc1_{nullptr}, out_{nullptr};
};
TORCH_MODULE(CnnClassifier);

class PatchTransformerImpl : public JudgeModuleImpl {
public:
    explicit PatchTransformerImpl(JudgeConfig config);
    ClassifierOutput forward(const torch::Tensor& audio);

private:
    int64_t n_patches_ = 0, mel_frames_ = 0;
    torch::nn::Conv2d patch_{nullptr};
    torch::Tensor pos_, cls_;
    torch::nn::TransformerEncoder encoder_{nullptr};
    torch::nn::LayerNorm norm_{nullptr};
    torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(PatchTransformer);

/// Symmetric InfoNCE (CLIP loss): logits = exp(log_scale) * cos(a_i, b_j) with exp(log_scale)
/// clamped to <= 100; loss = (CE(logits, diag) + CE(logits^T, diag)) / 2. a, b [B, D].
torch::Tensor info_nce(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& log_scale);

}  // namespace v2a::judge
