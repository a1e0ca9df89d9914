// B = batch, N = latent tokens, Nc = clip frames, Ns = sync tokens, Nt = text tokens,
// C = latent channels, D = model width, Dh = head dim
#include "v2a/model/mmaudio.h"

#include <limits>
#include <set>

#include "v2a/core/error.h"
#include "v2a/model/rope.h"

namespace v2a::model {

namespace nn = torch::nn;

torch::Tensor interpolate_nearest_exact(const torch::Tensor& x, int64_t out_len) {
    const int64_t in_len = x.size(1);
    if (in_len == out_len) return x;
    // Same float arithmetic as ATen's nearest_neighbor_exact_compute_source_index.
    const float scale = static_cast<float>(in_len) / static_cast<float>(out_len);
    std::vector<int64_t> idx(static_cast<size_t>(out_len));
    for (int64_t i = 0; i < out_len; ++i) {
        const auto src = static_cast<int64_t>(std::floor((static_cast<float>(i) + 0.5f) * scale));
        idx[static_cast<size_t>(i)] = std::min(src, in_len - 1);
    }
    auto index = torch::tensor(idx, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    return x.index_select(1, index);  // [B, out_len, D]
}

MMAudioImpl::MMAudioImpl(const NetworkConfig& config) : config_(config) {
    config_.validate();
    const auto& c = config_;
    const int64_t D = c.hidden_dim;
    const int64_t wide = 4 * D;  // the reference passes hidden_dim * 4 to every projection MLP

    auto act = [&]() -> nn::AnyModule { return c.v2 ? nn::AnyModule(nn::SiLU()) : nn::AnyModule(nn::SELU()); };
    audio_input_proj = register_module(
        "audio_input_proj",
        nn::Sequential({{"0", ChannelLastConv1d(ChannelLastConv1dOptions(c.latent_dim, D, 7))},
                        {"1", act()},
                        {"2", ConvMLP(ConvMLPOptions(D, wide, 7))}}));
    if (c.v2) {
        clip_input_proj = register_module("clip_input_proj",
                                          nn::Sequential({{"0", nn::Linear(c.clip_dim, D)},
                                                          {"1", nn::SiLU()},
                                                          {"2", ConvMLP(ConvMLPOptions(D, wide, 3))}}));
    } else {
        clip_input_proj = register_module(
            "clip_input_proj",
            nn::Sequential({{"0", nn::Linear(c.clip_dim, D)}, {"1", ConvMLP(ConvMLPOptions(D, wide, 3))}}));
    }
    sync_input_proj = register_module(
        "sync_input_proj",
        nn::Sequential({{"0", ChannelLastConv1d(ChannelLastConv1dOptions(c.sync_dim, D, 7))},
                        {"1", act()},
                        {"2", ConvMLP(ConvMLPOptions(D, wide, 3))}}));
    if (c.v2) {
        text_input_proj = register_module(
            "text_input_proj",
            nn::Sequential({{"0", nn::Linear(c.text_dim, D)}, {"1", nn::SiLU()}, {"2", MLP(MLPOptions(D, wide))}}));
    } else {
        text_input_proj = register_module(
            "text_input_proj", nn::Sequential({{"0", nn::Linear(c.text_dim, D)}, {"1", MLP(MLPOptions(D, wide))}}));
    }
    clip_cond_proj = register_module("clip_cond_proj", nn::Linear(D, D));
    text_cond_proj = register_module("text_cond_proj", nn::Linear(D, D));
    global_cond_mlp = register_module("global_cond_mlp", MLP(MLPOptions(D, wide)));
    sync_pos_emb = register_parameter("sync_pos_emb", torch::zeros({1, 1, 8, c.sync_dim}));
    final_layer = register_module("final_layer", FinalBlock(FinalBlockOptions(D, c.latent_dim)));
    t_embed = register_module("t_embed", c.v2 ? TimestepEmbedder(TimestepEmbedderOptions(D, D, 1.0))
                                              : TimestepEmbedder(TimestepEmbedderOptions(D, 256, 10000.0)));

    joint_blocks = register_module("joint_blocks", nn::ModuleList());
    for (int64_t i = 0; i < c.joint_depth(); ++i) {
        joint_blocks->push_back(JointBlock(
            JointBlockOptions(D, c.num_heads).mlp_ratio(c.mlp_ratio).pre_only(i == c.joint_depth() - 1)));
    }
    fused_blocks = register_module("fused_blocks", nn::ModuleList());
    for (int64_t i = 0; i < c.fused_depth; ++i) {
        fused_blocks->push_back(
            MMDitSingleBlock(MMDitSingleBlockOptions(D, c.num_heads).mlp_ratio(c.mlp_ratio).kernel_size(3)));
    }

    const float nan = std::numeric_limits<float>::quiet_NaN();
    latent_mean = register_parameter("latent_mean", torch::full({1, 1, c.latent_dim}, nan), /*requires_grad=*/false);
    latent_std = register_parameter("latent_std", torch::full({1, 1, c.latent_dim}, nan), /*requires_grad=*/false);
    empty_string_feat = register_parameter("empty_string_feat", torch::zeros({c.text_seq_len, c.text_dim}),
                                           /*requires_grad=*/false);
    empty_clip_feat = register_parameter("empty_clip_feat", torch::zeros({1, c.clip_dim}));
    empty_sync_feat = register_parameter("empty_sync_feat", torch::zeros({1, c.sync_dim}));

    initialize_weights();
    update_duration(c.duration);
}

void MMAudioImpl::initialize_weights() {
    torch::NoGradGuard no_grad;
    for (auto& m : modules(/*include_self=*/false)) {
        if (auto* linear = dynamic_cast<nn::LinearImpl*>(m.get())) {
            nn::init::xavier_uniform_(linear->weight);
            if (linear->bias.defined()) linear->bias.zero_();
        }
    }
    // Timestep MLP: N(0, 0.02) as in DiT.
    t_embed->mlp[0]->as<nn::LinearImpl>()->weight.normal_(0.0, 0.02);
    t_embed->mlp[2]->as<nn::LinearImpl>()->weight.normal_(0.0, 0.02);

    // adaLN-Zero: every block starts as the identity (gates 0), the output head as zero.
    auto zero = [](const nn::Linear& l) {
        l->weight.zero_();
        l->bias.zero_();
    };
    for (const auto& m : *joint_blocks) {
        auto* jb = m->as<JointBlockImpl>();
        zero(jb->latent_block->adaln_linear());
        zero(jb->clip_block->adaln_linear());
        zero(jb->text_block->adaln_linear());
    }
    for (const auto& m : *fused_blocks) zero(m->as<MMDitSingleBlockImpl>()->adaln_linear());
    zero(final_layer->adaln_linear());
    final_layer->conv->weight.zero_();
    final_layer->conv->bias.zero_();

    sync_pos_emb.zero_();
    empty_clip_feat.zero_();
    empty_sync_feat.zero_();
}

void MMAudioImpl::initialize_rotations() {
    const auto device = latent_mean.device();
    const int64_t head_dim = config_.head_dim();
    auto lat = compute_rope_rotations(latent_seq_len_, head_dim, 10000.0, 1.0, device);
    // Clip frame j gets the angle of audio token j * N / Nc (same time in seconds).
    auto clp = compute_rope_rotations(clip_seq_len_, head_dim, 10000.0,
                                      static_cast<double>(latent_seq_len_) / static_cast<double>(clip_seq_len_),
                                      device);
    if (!latent_rot.defined()) {
        latent_rot = register_buffer("latent_rot", lat);
        clip_rot = register_buffer("clip_rot", clp);
    } else {
        // set_data keeps the registered tensor object, so the buffer table stays in sync.
        latent_rot.set_data(lat);
        clip_rot.set_data(clp);
    }
}

void MMAudioImpl::update_seq_lengths(int64_t latent_seq_len, int64_t clip_seq_len, int64_t sync_seq_len) {
    V2A_CHECK(latent_seq_len > 0 && clip_seq_len > 0 && sync_seq_len > 0 && sync_seq_len % 8 == 0, Config,
              "network '", config_.name, "': invalid sequence lengths latent ", latent_seq_len, ", clip ",
              clip_seq_len, ", sync ", sync_seq_len, " (sync must be a positive multiple of 8)");
    latent_seq_len_ = latent_seq_len;
    clip_seq_len_ = clip_seq_len;
    sync_seq_len_ = sync_seq_len;
    initialize_rotations();
}

void MMAudioImpl::update_duration(double seconds) {
    const auto lengths = config_.sequence_lengths(seconds);
    update_seq_lengths(lengths.latent, lengths.clip, lengths.sync);
    config_.duration = seconds;
}

namespace {
void check_stream(const torch::Tensor& x, const char* stream, int64_t len, int64_t dim, const std::string& net) {
    V2A_CHECK(x.defined() && x.dim() == 3, Data, "network '", net, "': ", stream,
              " features must be [B, ", len, ", ", dim, "], got ", x.defined() ? x.sizes() : c10::IntArrayRef{});
    V2A_CHECK(x.size(1) == len && x.size(2) == dim, Data, "network '", net, "': ", stream, " features must be [B, ",
              len, ", ", dim, "] for the current duration, got ", x.sizes());
}
}  // namespace

PreprocessedConditions MMAudioImpl::preprocess_conditions(const torch::Tensor& clip_f, const torch::Tensor& sync_f,
                                                          const torch::Tensor& text_f) {
    const auto& c = config_;
    check_stream(clip_f, "clip", clip_seq_len_, c.clip_dim, c.name);
    check_stream(sync_f, "sync", sync_seq_len_, c.sync_dim, c.name);
    check_stream(text_f, "text", c.text_seq_len, c.text_dim, c.name);

    // Each Synchformer segment yields 8 tokens: add the learned within-segment position.
    const int64_t bs = sync_f.size(0);
    auto sync = (sync_f.view({bs, sync_seq_len_ / 8, 8, c.sync_dim}) + sync_pos_emb).flatten(1, 2);  // [B, Ns, S]

    PreprocessedConditions out;
    out.clip_f = clip_input_proj->forward(clip_f);                                         // [B, Nc, D]
    out.sync_f = interpolate_nearest_exact(sync_input_proj->forward(sync), latent_seq_len_);  // [B, N, D]
    out.text_f = text_input_proj->forward(text_f);                                         // [B, Nt, D]
    out.clip_f_c = clip_cond_proj(out.clip_f.mean(1));                                     // [B, D]
    out.text_f_c = text_cond_proj(out.text_f.mean(1));                                     // [B, D]
    return out;
}

torch::Tensor MMAudioImpl::predict_flow(const torch::Tensor& latent, const torch::Tensor& t,
                                        const PreprocessedConditions& cond) {
    check_stream(latent, "latent", latent_seq_len_, config_.latent_dim, config_.name);
    const int64_t B = latent.size(0);
    V2A_CHECK(t.defined() && (t.dim() == 0 || (t.dim() == 1 && (t.size(0) == B || t.size(0) == 1))), Data,
              "network '", config_.name, "': t must be a scalar or [", B, "], got ",
              t.defined() ? t.sizes() : c10::IntArrayRef{});
    auto tb = t.reshape({-1}).expand({B}).to(latent.scalar_type());

    auto x = audio_input_proj->forward(latent);                                          // [B, N, D]
    auto global_c = global_cond_mlp(cond.clip_f_c + cond.text_f_c);                      // [B, D]
    global_c = t_embed(tb).unsqueeze(1) + global_c.unsqueeze(1);                          // [B, 1, D]
    auto extended_c = global_c + cond.sync_f;                                            // [B, N, D]

    auto clip = cond.clip_f, text = cond.text_f;
    for (const auto& m : *joint_blocks) {
        auto o = m->as<JointBlockImpl>()->forward(x, clip, text, global_c, extended_c, latent_rot, clip_rot);
        x = o.latent;
        clip = o.clip;
        text = o.text;
    }
    for (const auto& m : *fused_blocks) x = m->as<MMDitSingleBlockImpl>()->forward(x, extended_c, latent_rot);
    // The reference conditions the head on global_c (not extended_c; MMAudio issue #55).
    return final_layer(x, global_c);  // [B, N, C]
}

torch::Tensor MMAudioImpl::forward(const torch::Tensor& latent, const torch::Tensor& clip_f,
                                   const torch::Tensor& sync_f, const torch::Tensor& text_f, const torch::Tensor& t) {
    return predict_flow(latent, t, preprocess_conditions(clip_f, sync_f, text_f));
}

torch::Tensor MMAudioImpl::get_empty_clip_sequence(int64_t batch_size) const {
    return empty_clip_feat.unsqueeze(0).expand({batch_size, clip_seq_len_, -1});
}
torch::Tensor MMAudioImpl::get_empty_sync_sequence(int64_t batch_size) const {
    return empty_sync_feat.unsqueeze(0).expand({batch_size, sync_seq_len_, -1});
}
torch::Tensor MMAudioImpl::get_empty_string_sequence(int64_t batch_size) const {
    return empty_string_feat.unsqueeze(0).expand({batch_size, -1, -1});
}

PreprocessedConditions MMAudioImpl::get_empty_conditions(int64_t batch_size,
                                                         const torch::Tensor& negative_text_features) {
    V2A_CHECK(batch_size > 0, Usage, "network '", config_.name, "': batch size must be > 0, got ", batch_size);
    const bool negative = negative_text_features.defined();
    // Computed at batch 1 and expanded: the null condition is the same for every sample.
    auto cond = preprocess_conditions(get_empty_clip_sequence(1), get_empty_sync_sequence(1),
                                      negative ? negative_text_features : get_empty_string_sequence(1));
    cond.clip_f = cond.clip_f.expand({batch_size, -1, -1});
    cond.sync_f = cond.sync_f.expand({batch_size, -1, -1});
    cond.clip_f_c = cond.clip_f_c.expand({batch_size, -1});
    if (!negative || negative_text_features.size(0) == 1) {
        cond.text_f = cond.text_f.expand({batch_size, -1, -1});
        cond.text_f_c = cond.text_f_c.expand({batch_size, -1});
    }
    return cond;
}

torch::Tensor MMAudioImpl::normalize(const torch::Tensor& x) const { return (x - latent_mean) / latent_std; }
torch::Tensor MMAudioImpl::unnormalize(const torch::Tensor& x) const { return x * latent_std + latent_mean; }

void MMAudioImpl::set_latent_stats(const torch::Tensor& mean, const torch::Tensor& std) {
    const int64_t C = config_.latent_dim;
    V2A_CHECK(mean.numel() == C && std.numel() == C, Data, "network '", config_.name, "': latent stats need ", C,
              " values each, got mean ", mean.sizes(), " std ", std.sizes());
    V2A_CHECK((std > 0).all().item<bool>(), Data, "network '", config_.name, "': latent std must be > 0");
    torch::NoGradGuard no_grad;
    latent_mean.copy_(mean.reshape({1, 1, C}));
    latent_std.copy_(std.reshape({1, 1, C}));
}

void MMAudioImpl::set_empty_string_feat(const torch::Tensor& feat) {
    V2A_CHECK(feat.dim() == 2 && feat.size(0) == config_.text_seq_len && feat.size(1) == config_.text_dim, Data,
              "network '", config_.name, "': empty string feature must be [", config_.text_seq_len, ", ",
              config_.text_dim, "], got ", feat.sizes());
    torch::NoGradGuard no_grad;
    empty_string_feat.copy_(feat);
}

const std::vector<std::string>& MMAudioImpl::derived_buffer_keys() {
    static const std::vector<std::string> keys = {"t_embed.freqs", "latent_rot", "clip_rot"};
    return keys;
}

std::vector<std::pair<std::string, torch::Tensor>> MMAudioImpl::state_dict() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : named_parameters(/*recurse=*/true)) out.emplace_back(p.key(), p.value());
    return out;
}

void MMAudioImpl::load_state_dict(const std::map<std::string, torch::Tensor>& tensors, bool strict,
                                  const std::string& source) {
    const auto& derived = derived_buffer_keys();
    std::set<std::string> expected;
    std::vector<std::string> missing, mismatched, unexpected;
    auto own = state_dict();
    for (const auto& [key, param] : own) {
        expected.insert(key);
        auto it = tensors.find(key);
        if (it == tensors.end()) {
            missing.push_back(key);
        } else if (it->second.sizes() != param.sizes()) {
            std::ostringstream s;
            s << key << " (checkpoint " << it->second.sizes() << ", model " << param.sizes() << ")";
            mismatched.push_back(s.str());
        }
    }
    for (const auto& [key, tensor] : tensors) {
        if (expected.count(key) == 0 && std::find(derived.begin(), derived.end(), key) == derived.end())
            unexpected.push_back(key);
    }
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (size_t i = 0; i < v.size() && i < 10; ++i) s += (i ? ", " : "") + v[i];
        if (v.size() > 10) s += ", ... (" + std::to_string(v.size()) + " in all)";
        return s;
    };
    V2A_CHECK(mismatched.empty(), Model, source, ": shape mismatch for network '", config_.name, "': ", join(mismatched));
    V2A_CHECK(!strict || missing.empty(), Model, source, ": missing keys for network '", config_.name, "': ",
              join(missing));
    V2A_CHECK(!strict || unexpected.empty(), Model, source, ": unexpected keys for network '", config_.name,
              "': ", join(unexpected));
    torch::NoGradGuard no_grad;
    for (auto& [key, param] : own) {
        auto it = tensors.find(key);
        if (it != tensors.end()) param.copy_(it->second.to(param.device(), param.scalar_type()));
    }
}

std::vector<torch::Tensor> MMAudioImpl::trainable_parameters() const {
    std::vector<torch::Tensor> out;
    for (const auto& p : parameters(/*recurse=*/true))
        if (p.requires_grad()) out.push_back(p);
    return out;
}

int64_t MMAudioImpl::num_parameters(bool trainable_only) const {
    int64_t n = 0;
    for (const auto& p : parameters(/*recurse=*/true))
        if (!trainable_only || p.requires_grad()) n += p.numel();
    return n;
}

}  // namespace v2a::model
