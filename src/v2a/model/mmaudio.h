// MMAudio-style multimodal flow-matching transformer (velocity network) in LibTorch.
//
//   latent [B, N, C] --audio_input_proj--> x [B, N, D]
//   clip   [B, Nc, clip_dim], sync [B, Ns, sync_dim], text [B, Nt, text_dim] --*_input_proj--> [B, *, D]
//   global_c   = t_embed(t) + global_cond_mlp(clip_cond_proj(mean clip) + text_cond_proj(mean text))  [B, 1, D]
//   extended_c = global_c + sync upsampled (nearest-exact) to N tokens                                 [B, N, D]
//   joint blocks (one attention over [latent | clip | text]) -> fused latent-only blocks
//   -> final_layer(x, global_c) -> velocity [B, N, C]
//
// Parameter and submodule names equal MMAudio's state-dict keys (v1 indices, or v2 when
// NetworkConfig::v2), so a converted checkpoint loads by name with load_state_dict(). The derived
// buffers t_embed.freqs, latent_rot and clip_rot are recomputed from the config: they are registered
// buffers (they follow .to(device)) but are never part of state_dict() and are skipped when a
// checkpoint contains them, exactly as MMAudio's load_weights() drops them.
//
// Ref: hkchengrex/MMAudio mmaudio/model/networks.py (MMAudio)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "v2a/model/final_block.h"
#include "v2a/model/joint_block.h"
#include "v2a/model/mlp.h"
#include "v2a/model/network_config.h"
#include "v2a/model/timestep_embedder.h"

namespace v2a::model {

/// Condition features after the input projections; independent of the latent and of t, so
/// samplers compute them once per clip and reuse them at every step (and for CFG).
struct PreprocessedConditions {
    torch::Tensor clip_f;    // [B, Nc, D]
    torch::Tensor sync_f;    // [B, N, D] already upsampled to the latent length
    torch::Tensor text_f;    // [B, Nt, D]
    torch::Tensor clip_f_c;  // [B, D]  clip_cond_proj(mean_t clip_f)
    torch::Tensor text_f_c;  // [B, D]  text_cond_proj(mean_t text_f)

    int64_t batch_size() const { return clip_f.size(0); }
};

/// Nearest-exact resampling along dim 1 (torch 'nearest-exact'): out[i] = x[min(floor((i + 0.5) *
/// in / out), in - 1)]. x: [B, L, D] -> [B, out_len, D].
torch::Tensor interpolate_nearest_exact(const torch::Tensor& x, int64_t out_len);

class MMAudioImpl : public torch::nn::Module {
public:
    explicit MMAudioImpl(const NetworkConfig& config);

    /// Full velocity prediction. latent [B, N, C], clip_f [B, Nc, clip_dim], sync_f [B, Ns, sync_dim],
    /// text_f [B, Nt, text_dim], t [B] (flow time, 0 = noise, 1 = data) -> velocity [B, N, C].
    torch::Tensor forward(const torch::Tensor& latent, const torch::Tensor& clip_f, const torch::Tensor& sync_f,
                          const torch::Tensor& text_f, const torch::Tensor& t);

    /// The latent-independent part. Each stream may have its own batch size (1 broadcasts later).
    /// Throws v2a::Error(Data) naming the stream when a shape does not fit the current lengths.
    PreprocessedConditions preprocess_conditions(const torch::Tensor& clip_f, const torch::Tensor& sync_f,
                                                 const torch::Tensor& text_f);
    /// The per-step part: latent [B, N, C], t [B] -> velocity [B, N, C].
    torch::Tensor predict_flow(const torch::Tensor& latent, const torch::Tensor& t,
                               const PreprocessedConditions& conditions);

    /// Null conditions for classifier-free guidance, expanded to batch `batch_size`: learned empty
    /// clip/sync features and the empty-string text feature (or `negative_text_features`
    /// [B, Nt, text_dim] when given, e.g. a negative prompt).
    PreprocessedConditions get_empty_conditions(int64_t batch_size,
                                                const torch::Tensor& negative_text_features = {});
    torch::Tensor get_empty_clip_sequence(int64_t batch_size) const;    // [B, Nc, clip_dim]
    torch::Tensor get_empty_sync_sequence(int64_t batch_size) const;    // [B, Ns, sync_dim]
    torch::Tensor get_empty_string_sequence(int64_t batch_size) const;  // [B, Nt, text_dim]

    /// Recomputes the sequence lengths and RoPE tables for another duration (weights unchanged).
    void update_seq_lengths(int64_t latent_seq_len, int64_t clip_seq_len, int64_t sync_seq_len);
    void update_duration(double seconds);

    /// (x - latent_mean) / latent_std and its inverse; not in place. x: [B, N, C].
    torch::Tensor normalize(const torch::Tensor& x) const;
    torch::Tensor unnormalize(const torch::Tensor& x) const;
    /// Sets the (non-trainable) latent statistics, [C] or [1, 1, C]. They start as NaN like the
    /// reference, so forgetting to set/load them fails loudly.
    void set_latent_stats(const torch::Tensor& mean, const torch::Tensor& std);
    /// Sets the (non-trainable) empty-string text feature [text_seq_len, text_dim].
    void set_empty_string_feat(const torch::Tensor& feat);

    /// Persistent tensors by MMAudio key, in registration order (parameters; no derived buffers).
    std::vector<std::pair<std::string, torch::Tensor>> state_dict() const;
    /// Keys of derived buffers that a checkpoint may contain and that are ignored on load.
    static const std::vector<std::string>& derived_buffer_keys();
    /// Copies tensors by name (converted to this model's dtype/device). Strict: every key of
    /// state_dict() must be present and nothing unknown may remain. Shape mismatches always throw.
    /// Errors are v2a::Error(Model) listing the offending keys; `source` names the file in messages.
    void load_state_dict(const std::map<std::string, torch::Tensor>& tensors, bool strict = true,
                         const std::string& source = "state dict");

    /// Parameters with requires_grad (the ones an optimizer should see).
    std::vector<torch::Tensor> trainable_parameters() const;
    int64_t num_parameters(bool trainable_only = false) const;

    const NetworkConfig& config() const { return config_; }
    int64_t latent_seq_len() const { return latent_seq_len_; }
    int64_t clip_seq_len() const { return clip_seq_len_; }
    int64_t sync_seq_len() const { return sync_seq_len_; }
    int64_t text_seq_len() const { return config_.text_seq_len; }

    // Submodules / parameters under their MMAudio names.
    torch::nn::Sequential audio_input_proj{nullptr};  // "0" Conv1d k7, "1" SELU/SiLU, "2" ConvMLP k7
    torch::nn::Sequential clip_input_proj{nullptr};   // "0" Linear, ["1" SiLU (v2)], ConvMLP k3
    torch::nn::Sequential sync_input_proj{nullptr};   // "0" Conv1d k7, "1" SELU/SiLU, "2" ConvMLP k3
    torch::nn::Sequential text_input_proj{nullptr};   // "0" Linear, ["1" SiLU (v2)], MLP
    torch::nn::Linear clip_cond_proj{nullptr};
    torch::nn::Linear text_cond_proj{nullptr};
    MLP global_cond_mlp{nullptr};
    FinalBlock final_layer{nullptr};
    TimestepEmbedder t_embed{nullptr};
    torch::nn::ModuleList joint_blocks{nullptr};  // JointBlock x (depth - fused_depth), last pre_only
    torch::nn::ModuleList fused_blocks{nullptr};  // MMDitSingleBlock x fused_depth (kernel 3)

    torch::Tensor sync_pos_emb;       // [1, 1, 8, sync_dim] learned, added to every 8-token segment
    torch::Tensor latent_mean;        // [1, 1, C] non-trainable
    torch::Tensor latent_std;         // [1, 1, C] non-trainable
    torch::Tensor empty_string_feat;  // [Nt, text_dim] non-trainable
    torch::Tensor empty_clip_feat;    // [1, clip_dim] learned
    torch::Tensor empty_sync_feat;    // [1, sync_dim] learned
    torch::Tensor latent_rot;         // derived buffer [1, N, Dh/2, 2, 2]
    torch::Tensor clip_rot;           // derived buffer [1, Nc, Dh/2, 2, 2]

private:
    void initialize_weights();
    void initialize_rotations();

    NetworkConfig config_;
    int64_t latent_seq_len_ = 0;
    int64_t clip_seq_len_ = 0;
    int64_t sync_seq_len_ = 0;
};
TORCH_MODULE(MMAudio);

}  // namespace v2a::model
