// The judges' interfaces. The papers score generated audio with pretrained ImageBind, LAION-CLAP,
// Synchformer, PANNs and PaSST; this toolkit ships small STAND-IN models of its own (judge/networks.h)
// trained only on the benchmark's ground-truth train clips. Every metric talks to a judge through one
// of these abstract classes, so a real pretrained encoder (converted to safetensors) can replace a
// stand-in without touching the evaluation code.
//
// Conventions (all CPU tensors, no gradients needed):
//   audio  [B, S] float32 mono at 16 kHz in [-1, 1] (a judge does its own front end / resampling)
//   frames [B, T, H, W, 3] uint8 RGB on a 25 fps grid (any H, W: a judge resizes to its own input)
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace v2a::judge {

constexpr int kJudgeSampleRate = 16000;
constexpr double kJudgeFps = 25.0;

class AudioEmbedder {
public:
    virtual ~AudioEmbedder() = default;
    /// audio [B, S] -> embeddings [B, D] (not necessarily normalised).
    virtual torch::Tensor embed_audio(const torch::Tensor& audio) = 0;
    virtual std::string name() const = 0;
};

class VideoEmbedder {
public:
    virtual ~VideoEmbedder() = default;
    /// frames [B, T, H, W, 3] uint8 -> embeddings [B, D] in the paired audio embedder's space.
    virtual torch::Tensor embed_video(const torch::Tensor& frames) = 0;
    virtual std::string name() const = 0;
};

class TextEmbedder {
public:
    virtual ~TextEmbedder() = default;
    /// captions -> embeddings [B, D] in the paired audio embedder's space.
    virtual torch::Tensor embed_text(const std::vector<std::string>& texts) = 0;
    virtual std::string name() const = 0;
};

/// Audio-visual offset classifier (Synchformer role): logits over a fixed grid of offsets (seconds).
class SyncJudge {
public:
    virtual ~SyncJudge() = default;
    /// frames [B, Tw, H, W, 3] (window_seconds at 25 fps), audio [B, Sw] (window_seconds at 16 kHz)
    /// covering the same time span -> logits [B, grid().size()].
    virtual torch::Tensor offset_logits(const torch::Tensor& frames, const torch::Tensor& audio) = 0;
    /// Offsets in seconds of the classes; offset > 0 means the audio runs ahead of the video.
    virtual std::vector<double> grid() const = 0;
    virtual double window_seconds() const = 0;
    virtual std::string name() const = 0;
};

/// Audio classifier (PANNs / PaSST role): class logits (for IS and KL) and the penultimate
/// embedding (for FD).
class AudioClassifier {
public:
    struct Output {
        torch::Tensor logits;     // [B, C]
        torch::Tensor embedding;  // [B, D]
    };
    virtual ~AudioClassifier() = default;
    virtual Output classify(const torch::Tensor& audio) = 0;
    virtual std::vector<std::string> classes() const = 0;
    virtual std::string name() const = 0;
};

}  // namespace v2a::judge
