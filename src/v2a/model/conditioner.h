// Conditioner: produces the flow network's three condition streams for a batch of clips,
//   clip_f [B, Nc, clip_dim]  (8 fps visual semantics; MMAudio: CLIP image features, 1024-d)
//   sync_f [B, Ns, sync_dim]  (25 fps, 8 tokens per 16-frame segment; MMAudio: Synchformer, 768-d)
//   text_f [B, Nt, text_dim]  (Nt = text_seq_len; MMAudio: CLIP text hidden states, 77 x 1024)
// Each stream is either Learned (our small STAND-IN encoder, trained jointly with the generator:
// SemanticEncoder / SyncEncoder / TextEncoder) or Precomputed (real features extracted elsewhere, given
// in a TensorMap or safetensors files under MMAudio's training-latent keys "clip_features",
// "sync_features", "text_features"). Only Learned streams own parameters.
//
// Lengths follow the clip duration exactly as MMAudio's sequence_config: Nc = int(8 * duration),
// Ns = ((int(25 * duration) - 16) / 8 + 1) * 8.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "v2a/io/safetensors.h"
#include "v2a/model/network_config.h"
#include "v2a/model/semantic_encoder.h"
#include "v2a/model/sync_encoder.h"
#include "v2a/model/text_encoder.h"

namespace v2a::model {

enum class StreamMode { Learned, Precomputed };
std::string to_string(StreamMode mode);
/// "learned" / "precomputed"; throws v2a::Error(Config) naming `what` otherwise.
StreamMode stream_mode_from_string(const std::string& text, const std::string& what = "stream mode");

/// MMAudio's extracted-latent keys.
inline constexpr const char* kClipFeaturesKey = "clip_features";
inline constexpr const char* kSyncFeaturesKey = "sync_features";
inline constexpr const char* kTextFeaturesKey = "text_features";

/// Condition lengths for a duration.
struct FeatureLengths {
    int64_t clip_frames = 0;  // 8 fps frames = clip tokens: int(8 * duration)
    int64_t sync_frames = 0;  // 25 fps frames: int(25 * duration)
    int64_t sync = 0;         // sync tokens: sync_tokens_for_frames(sync_frames)
    int64_t text = 0;         // text tokens (fixed)
};
/// Throws v2a::Error(Config) for a non-finite duration or one shorter than a sync segment (0.64 s).
FeatureLengths feature_lengths(double duration, int64_t text_seq_len);

struct ConditionerConfig {
    std::string name = "bench";

    // Output widths: must equal the flow network's (NetworkConfig) fields of the same names.
    int64_t clip_dim = 128;
    int64_t sync_dim = 128;
    int64_t text_dim = 128;
    int64_t text_seq_len = 77;

    StreamMode clip_mode = StreamMode::Learned;
    StreamMode sync_mode = StreamMode::Learned;
    StreamMode text_mode = StreamMode::Learned;

    // SemanticEncoder (CLIP stand-in).
    int64_t clip_frame_size = 96;
    std::vector<int64_t> clip_channels{32, 64, 128, 256};
    // SyncEncoder (Synchformer stand-in).
    int64_t sync_frame_size = 96;
    std::vector<int64_t> sync_stem_channels{16, 32, 64, 64};
    int64_t sync_temporal_channels = 96;
    // A linear onset head on the sync features, trained by `v2a train --sync-onset-weight` to predict
    // the audio's onset strength per sync token: the stand-in for Synchformer's audio-visual sync
    // pretraining, which makes the features carry timing (without it they collapse to one vector:
    // docs/DECISIONS.md D10). Off in configs written before it existed.
    bool sync_onset_head = false;
    // What the sync tokens describe (SyncTokenLayout; D11): Uniform in the learned presets, Segment
    // (Synchformer's) in configs written before it existed.
    SyncTokenLayout sync_token_layout = SyncTokenLayout::Segment;
    // TextEncoder (CLIP-text stand-in).
    int64_t text_buckets = 4096;
    int64_t text_width = 128;
    int64_t text_heads = 4;
    int64_t text_layers = 2;

    // ---- presets (encoder sizes; the widths match the network preset of the same name) ---------
    static ConditionerConfig tiny();   // unit tests: 32/24/16 wide, 5 text tokens, 32-px frames
    static ConditionerConfig bench();  // CPU default: 128/128/128, 77 text tokens, 96-px frames
    static ConditionerConfig paper();  // MMAudio feature widths 1024/768/1024 (e.g. precomputed real features)
    /// By name; throws v2a::Error(Config) naming unknown presets.
    static ConditionerConfig preset(const std::string& name);
    static std::vector<std::string> preset_names();
    /// Encoder sizes of preset `preset`, widths and text length taken from `network`.
    static ConditionerConfig for_network(const NetworkConfig& network, const std::string& preset = "bench");

    /// Throws v2a::Error(Config) naming the first invalid field.
    void validate() const;
    /// Throws v2a::Error(Config) naming the first width that differs from the network's.
    void check_matches(const NetworkConfig& network) const;

    nlohmann::json to_json() const;
    /// Missing fields keep `base`'s values; unknown fields and wrong types throw v2a::Error(Config).
    static ConditionerConfig from_json(const nlohmann::json& j, const ConditionerConfig& base);
    static ConditionerConfig from_json(const nlohmann::json& j);
};

/// What one batch brings; which fields are needed depends on the stream modes.
struct ConditionerInput {
    torch::Tensor frames_8fps;          // Learned clip: [B, T8, 3, H, W] or [B, T8, H, W, 3]
    torch::Tensor frames_25fps;         // Learned sync: [B, T25, 3, H, W] or [B, T25, H, W, 3]
    std::vector<std::string> captions;  // Learned text: B captions ("" = no caption)
    io::TensorMap precomputed;          // Precomputed streams: key -> [B, L, D] (or [L, D] when B = 1)
    std::string source = "precomputed features";  // names the file / batch in error messages
    std::vector<std::string> clip_ids;  // optional, B names for error messages
    double duration = 0.0;              // > 0: every stream's length is checked against this duration
};

/// The network's condition inputs (float32, on the conditioner's device).
struct ConditionFeatures {
    torch::Tensor clip_f;  // [B, Nc, clip_dim]
    torch::Tensor sync_f;  // [B, Ns, sync_dim]
    torch::Tensor text_f;  // [B, Nt, text_dim]
    int64_t batch_size() const { return clip_f.size(0); }
};

class ConditionerImpl : public torch::nn::Module {
public:
    /// Validates the config; builds an encoder for each Learned stream only.
    explicit ConditionerImpl(const ConditionerConfig& config);

    /// All three streams for one batch. Throws v2a::Error(Data) naming the stream (and the source /
    /// clip) for a missing input, a wrong shape, width or length, a batch-size mismatch or non-finite
    /// precomputed values.
    ConditionFeatures forward(const ConditionerInput& input);

    /// Checks and converts one precomputed stream ("clip_features", ...): [L, D] or [B, L, D] with
    /// D = the stream's width and, when duration > 0, L = its length. Returns float [B, L, D].
    torch::Tensor check_precomputed(const io::TensorMap& features, const std::string& key, double duration,
                                    const std::string& source, const std::vector<std::string>& clip_ids = {}) const;
    /// Reads the precomputed streams of several clips (one safetensors file each, tensors [L, D] or
    /// [1, L, D]), checking every file before stacking: key -> [B, L, D]. Errors name the file.
    io::TensorMap load_precomputed(const std::vector<std::filesystem::path>& files, double duration = 0.0) const;

    /// Null text condition [Nt, text_dim]: the Learned text encoder's encoding of "". Throws
    /// v2a::Error(Config) when text is Precomputed (the real encoder's "" feature must be supplied).
    torch::Tensor empty_text_features();

    /// Keys of the precomputed streams ("clip_features", ...), in clip/sync/text order.
    std::vector<std::string> precomputed_keys() const;
    /// Parameters of one stream's encoder ("clip", "sync", "text"); 0 for a Precomputed stream.
    int64_t num_parameters(const std::string& stream) const;
    torch::Device device() const;

    const ConditionerConfig& config() const { return config_; }

    SemanticEncoder semantic{nullptr};  // Learned clip stream only
    SyncEncoder sync{nullptr};          // Learned sync stream only
    TextEncoder text{nullptr};          // Learned text stream only

private:
    ConditionerConfig config_;
};
TORCH_MODULE(Conditioner);

}  // namespace v2a::model
