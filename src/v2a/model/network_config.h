// Hyper-parameters of the MMAudio-style flow network (one aggregate, passed once to the network) and
// the sequence lengths that follow from the clip duration.
// Ref: hkchengrex/MMAudio mmaudio/model/networks.py (get_my_mmaudio), mmaudio/model/sequence_config.py
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace v2a::model {

/// Token counts of the four input streams for one clip duration.
struct SequenceLengths {
    int64_t latent = 0;  // audio latent tokens: ceil(duration * sr / hop / 2)
    int64_t clip = 0;    // CLIP frames at 8 fps: int(duration * 8)
    int64_t sync = 0;    // Synchformer tokens: ((25 * duration - 16) // 8 + 1) * 8
};

struct NetworkConfig {
    std::string name = "custom";

    // Stream widths.
    int64_t latent_dim = 20;    // VAE latent channels (20 at 16 kHz, 40 at 44.1 kHz)
    int64_t clip_dim = 1024;    // per-frame visual semantic feature
    int64_t sync_dim = 768;     // per-token sync feature (Synchformer)
    int64_t text_dim = 1024;    // per-token text feature
    int64_t text_seq_len = 77;  // text tokens (fixed; the empty-string feature has this length)

    // Transformer.
    int64_t hidden_dim = 448;   // = 64 * num_heads in every MMAudio variant
    int64_t num_heads = 7;
    int64_t depth = 12;         // joint blocks + fused blocks
    int64_t fused_depth = 8;    // audio-only blocks after the joint ones
    double mlp_ratio = 4.0;     // FFN hidden before the SwiGLU 2/3 rule and rounding to 256
    bool v2 = false;            // v2: SiLU instead of SELU / none in input projections, t-embed size = hidden

    // Audio front end (sets the latent token rate) and the duration the lengths are built for.
    int64_t sample_rate = 16000;
    int64_t hop = 256;          // mel hop (spectrogram_frame_rate); latents downsample it by 2 more
    double duration = 8.0;      // seconds

    // ---- presets -------------------------------------------------------------------------------
    static NetworkConfig tiny();         // tests: hidden 64, one head, 1 joint + 1 fused block
    static NetworkConfig bench();        // CPU default: hidden 256, 4 heads, 2 joint + 4 fused, small feats
    static NetworkConfig small_16k();    // MMAudio S-16k (157.3M)
    static NetworkConfig small_44k();
    static NetworkConfig medium_44k();
    static NetworkConfig large_44k();
    static NetworkConfig large_44k_v2();
    /// By name ("tiny", "bench", "small_16k", ...); throws v2a::Error(Config) naming unknown presets.
    static NetworkConfig preset(const std::string& name);
    static std::vector<std::string> preset_names();

    // ---- derived values ------------------------------------------------------------------------
    int64_t head_dim() const { return hidden_dim / num_heads; }
    int64_t joint_depth() const { return depth - fused_depth; }
    /// SwiGLU hidden width used by MLP/ConvMLP built with hidden = mlp_ratio * dim:
    /// 256 * ceil(int(2/3 * mlp_ratio * dim) / 256).
    int64_t ffn_hidden_dim() const;
    /// Sequence lengths for `seconds` of audio/video with this config's audio front end.
    SequenceLengths sequence_lengths(double seconds) const;
    SequenceLengths sequence_lengths() const { return sequence_lengths(duration); }

    /// Throws v2a::Error(Config) naming the first invalid field and its value.
    void validate() const;

    nlohmann::json to_json() const;
    /// Missing fields keep the defaults of `base` (so old checkpoints stay readable); unknown fields
    /// and wrong types throw v2a::Error(Config) naming the field.
    static NetworkConfig from_json(const nlohmann::json& j, const NetworkConfig& base);
    static NetworkConfig from_json(const nlohmann::json& j);
};

/// A network as MMAudio's constructor describes it: the config plus explicit sequence lengths
/// (MMAudio(latent_seq_len=..., clip_seq_len=..., sync_seq_len=...) need not follow a duration).
struct MMAudioArchitecture {
    NetworkConfig config;
    SequenceLengths lengths;
};

/// From MMAudio's constructor keyword arguments (networks.py MMAudio.__init__: latent_dim, clip_dim,
/// sync_dim, text_dim, hidden_dim, depth, fused_depth, num_heads, mlp_ratio, latent_seq_len,
/// clip_seq_len, sync_seq_len, text_seq_len, v2). Missing lengths follow `base`'s duration; unknown
/// keys and wrong types throw v2a::Error(Config) naming the key.
MMAudioArchitecture mmaudio_architecture_from_args(const nlohmann::json& args,
                                                   const NetworkConfig& base = NetworkConfig::small_16k());

/// Tensor shapes by MMAudio state-dict key.
using ShapeMap = std::map<std::string, std::vector<int64_t>>;

/// Reads the architecture off a state dict's shapes: widths from the input projections, depth and
/// fused_depth from the block indices, num_heads from the q_norm width (= head_dim), mlp_ratio from the
/// FFN width, v1 vs v2 from the input-projection layout (v2 has an activation at index 1, so its MLP
/// sits at index 2), text_seq_len from empty_string_feat, and the audio front end from latent_dim
/// (20 -> 16 kHz / hop 256, 40 -> 44.1 kHz / hop 512; duration 8 s as MMAudio trains). Throws
/// v2a::Error(Model) naming the missing or inconsistent key.
NetworkConfig infer_network_config(const ShapeMap& shapes);

/// SwiGLU hidden width rule shared by MLP and ConvMLP (sd3-ref): 2/3 of `hidden`, rounded up to a
/// multiple of `multiple_of`.
int64_t swiglu_hidden_dim(int64_t hidden, int64_t multiple_of = 256);

}  // namespace v2a::model
