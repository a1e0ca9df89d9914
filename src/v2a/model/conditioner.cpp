// B = batch, Nc/Ns/Nt = clip/sync/text tokens, D = stream width
#include "v2a/model/conditioner.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "v2a/core/error.h"

namespace v2a::model {

std::string to_string(StreamMode mode) { return mode == StreamMode::Learned ? "learned" : "precomputed"; }

StreamMode stream_mode_from_string(const std::string& text, const std::string& what) {
    if (text == "learned") return StreamMode::Learned;
    if (text == "precomputed") return StreamMode::Precomputed;
    fail(ErrorKind::Config, what, ": unknown mode '", text, "' (known: learned, precomputed)");
}

FeatureLengths feature_lengths(double duration, int64_t text_seq_len) {
    V2A_CHECK(std::isfinite(duration) && duration > 0.0, Config, "conditioner: duration must be positive, got ",
              duration);
    FeatureLengths l;
    l.clip_frames = static_cast<int64_t>(duration * 8.0);  // int(duration * 8) as sequence_config.py
    l.sync_frames = static_cast<int64_t>(duration * 25.0);
    V2A_CHECK(l.sync_frames >= kSyncSegmentFrames && l.clip_frames > 0, Config, "conditioner: a ", duration,
              " s clip is shorter than one sync segment (16 frames at 25 fps = 0.64 s)");
    l.sync = sync_tokens_for_frames(l.sync_frames);
    l.text = text_seq_len;
    return l;
}

// ---- config -------------------------------------------------------------------------------------

ConditionerConfig ConditionerConfig::tiny() {
    ConditionerConfig c;
    c.name = "tiny";
    c.clip_dim = 32;
    c.sync_dim = 24;
    c.text_dim = 16;
    c.text_seq_len = 5;
    c.clip_frame_size = 32;
    c.clip_channels = {8, 8, 16, 16};
    c.sync_frame_size = 32;
    c.sync_stem_channels = {8, 8, 16, 16};
    c.sync_temporal_channels = 16;
    c.sync_onset_head = true;
    c.sync_token_layout = SyncTokenLayout::Uniform;
    c.text_buckets = 256;
    c.text_width = 16;
    c.text_heads = 2;
    c.text_layers = 2;
    return c;
}

ConditionerConfig ConditionerConfig::bench() {
    ConditionerConfig c;
    c.sync_onset_head = true;
    c.sync_token_layout = SyncTokenLayout::Uniform;
    return c;
}

ConditionerConfig ConditionerConfig::paper() {
    ConditionerConfig c;
    c.name = "paper";
    c.clip_dim = 1024;
    c.sync_dim = 768;
    c.text_dim = 1024;
    c.text_seq_len = 77;
    c.text_width = 256;
    c.text_heads = 4;
    return c;
}

std::vector<std::string> ConditionerConfig::preset_names() { return {"tiny", "bench", "paper"}; }

ConditionerConfig ConditionerConfig::preset(const std::string& name) {
    if (name == "tiny") return tiny();
    if (name == "bench") return bench();
    if (name == "paper") return paper();
    fail(ErrorKind::Config, "unknown conditioner preset '", name, "' (known: tiny, bench, paper)");
}

ConditionerConfig ConditionerConfig::for_network(const NetworkConfig& network, const std::string& preset_name) {
    auto c = preset(preset_name);
    c.clip_dim = network.clip_dim;
    c.sync_dim = network.sync_dim;
    c.text_dim = network.text_dim;
    c.text_seq_len = network.text_seq_len;
    return c;
}

void ConditionerConfig::validate() const {
    auto positive = [&](int64_t v, const char* field) {
        V2A_CHECK(v > 0, Config, "conditioner config '", name, "': ", field, " must be > 0, got ", v);
    };
    auto channels = [&](const std::vector<int64_t>& v, const char* field) {
        V2A_CHECK(!v.empty(), Config, "conditioner config '", name, "': ", field, " is empty");
        for (int64_t c : v) positive(c, field);
    };
    auto frame_size = [&](int64_t v, const char* field) {
        V2A_CHECK(v >= 32 && v <= 512, Config, "conditioner config '", name, "': ", field,
                  " must be in 32..512, got ", v);
    };
    positive(clip_dim, "clip_dim");
    positive(sync_dim, "sync_dim");
    positive(text_dim, "text_dim");
    V2A_CHECK(text_seq_len >= 2, Config, "conditioner config '", name,
              "': text_seq_len must be >= 2 (BOS + EOS), got ", text_seq_len);
    frame_size(clip_frame_size, "clip_frame_size");
    channels(clip_channels, "clip_channels");
    frame_size(sync_frame_size, "sync_frame_size");
    channels(sync_stem_channels, "sync_stem_channels");
    positive(sync_temporal_channels, "sync_temporal_channels");
    positive(text_buckets, "text_buckets");
    positive(text_width, "text_width");
    positive(text_heads, "text_heads");
    V2A_CHECK(text_width % text_heads == 0, Config, "conditioner config '", name, "': text_width ", text_width,
              " is not divisible by text_heads ", text_heads);
    V2A_CHECK(text_layers >= 0, Config, "conditioner config '", name, "': text_layers must be >= 0, got ",
              text_layers);
}

void ConditionerConfig::check_matches(const NetworkConfig& network) const {
    auto same = [&](int64_t mine, int64_t theirs, const char* field) {
        V2A_CHECK(mine == theirs, Config, "conditioner config '", name, "': ", field, " ", mine,
                  " differs from network config '", network.name, "' ", field, " ", theirs);
    };
    same(clip_dim, network.clip_dim, "clip_dim");
    same(sync_dim, network.sync_dim, "sync_dim");
    same(text_dim, network.text_dim, "text_dim");
    same(text_seq_len, network.text_seq_len, "text_seq_len");
}

nlohmann::json ConditionerConfig::to_json() const {
    return {{"name", name},
            {"clip_dim", clip_dim},
            {"sync_dim", sync_dim},
            {"text_dim", text_dim},
            {"text_seq_len", text_seq_len},
            {"clip_mode", to_string(clip_mode)},
            {"sync_mode", to_string(sync_mode)},
            {"text_mode", to_string(text_mode)},
            {"clip_frame_size", clip_frame_size},
            {"clip_channels", clip_channels},
            {"sync_frame_size", sync_frame_size},
            {"sync_stem_channels", sync_stem_channels},
            {"sync_temporal_channels", sync_temporal_channels},
            {"sync_onset_head", sync_onset_head},
            {"sync_token_layout", to_string(sync_token_layout)},
            {"text_buckets", text_buckets},
            {"text_width", text_width},
            {"text_heads", text_heads},
            {"text_layers", text_layers}};
}

ConditionerConfig ConditionerConfig::from_json(const nlohmann::json& j) { return from_json(j, ConditionerConfig()); }

ConditionerConfig ConditionerConfig::from_json(const nlohmann::json& j, const ConditionerConfig& base) {
    V2A_CHECK(j.is_object(), Config, "conditioner config: expected a JSON object");
    const auto known_json = base.to_json();
    for (auto it = j.begin(); it != j.end(); ++it) {
        V2A_CHECK(known_json.contains(it.key()), Config, "conditioner config: unknown field '", it.key(), "'");
    }
    ConditionerConfig c = base;
    auto get = [&](const char* key, auto& out) {
        if (!j.contains(key)) return;
        try {
            out = j[key].get<std::decay_t<decltype(out)>>();
        } catch (const nlohmann::json::exception&) {
            fail(ErrorKind::Config, "conditioner config: field '", key, "' has the wrong type (", j[key].dump(), ")");
        }
    };
    auto mode = [&](const char* key, StreamMode& out) {
        std::string s = to_string(out);
        get(key, s);
        out = stream_mode_from_string(s, std::string("conditioner config: field '") + key + "'");
    };
    get("name", c.name);
    get("clip_dim", c.clip_dim);
    get("sync_dim", c.sync_dim);
    get("text_dim", c.text_dim);
    get("text_seq_len", c.text_seq_len);
    mode("clip_mode", c.clip_mode);
    mode("sync_mode", c.sync_mode);
    mode("text_mode", c.text_mode);
    get("clip_frame_size", c.clip_frame_size);
    get("clip_channels", c.clip_channels);
    get("sync_frame_size", c.sync_frame_size);
    get("sync_stem_channels", c.sync_stem_channels);
    get("sync_temporal_channels", c.sync_temporal_channels);
    get("sync_onset_head", c.sync_onset_head);
    {
        std::string layout = to_string(c.sync_token_layout);
        get("sync_token_layout", layout);
        c.sync_token_layout = sync_token_layout_from_string(layout, "conditioner config: field 'sync_token_layout'");
    }
    get("text_buckets", c.text_buckets);
    get("text_width", c.text_width);
    get("text_heads", c.text_heads);
    get("text_layers", c.text_layers);
    return c;
}

// ---- module -------------------------------------------------------------------------------------

ConditionerImpl::ConditionerImpl(const ConditionerConfig& config) : config_(config) {
    config_.validate();
    if (config_.clip_mode == StreamMode::Learned) {
        semantic = register_module("semantic", SemanticEncoder(SemanticEncoderOptions(config_.clip_dim)
                                                                   .frame_size(config_.clip_frame_size)
                                                                   .channels(config_.clip_channels)));
    }
    if (config_.sync_mode == StreamMode::Learned) {
        sync = register_module("sync", SyncEncoder(SyncEncoderOptions(config_.sync_dim)
                                                       .frame_size(config_.sync_frame_size)
                                                       .stem_channels(config_.sync_stem_channels)
                                                       .temporal_channels(config_.sync_temporal_channels)
                                                       .onset_head(config_.sync_onset_head)
                                                       .token_layout(config_.sync_token_layout)));
    }
    if (config_.text_mode == StreamMode::Learned) {
        text = register_module("text", TextEncoder(TextEncoderOptions(config_.text_dim)
                                                       .seq_len(config_.text_seq_len)
                                                       .buckets(config_.text_buckets)
                                                       .width(config_.text_width)
                                                       .heads(config_.text_heads)
                                                       .layers(config_.text_layers)));
    }
}

torch::Device ConditionerImpl::device() const {
    const auto params = parameters();
    return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

std::vector<std::string> ConditionerImpl::precomputed_keys() const {
    std::vector<std::string> keys;
    if (config_.clip_mode == StreamMode::Precomputed) keys.emplace_back(kClipFeaturesKey);
    if (config_.sync_mode == StreamMode::Precomputed) keys.emplace_back(kSyncFeaturesKey);
    if (config_.text_mode == StreamMode::Precomputed) keys.emplace_back(kTextFeaturesKey);
    return keys;
}

int64_t ConditionerImpl::num_parameters(const std::string& stream) const {
    const torch::nn::Module* m = nullptr;
    if (stream == "clip") {
        m = semantic.is_empty() ? nullptr : semantic.get();
    } else if (stream == "sync") {
        m = sync.is_empty() ? nullptr : sync.get();
    } else if (stream == "text") {
        m = text.is_empty() ? nullptr : text.get();
    } else {
        fail(ErrorKind::Usage, "conditioner: unknown stream '", stream, "' (known: clip, sync, text)");
    }
    int64_t n = 0;
    if (m != nullptr) {
        for (const auto& p : m->parameters()) n += p.numel();
    }
    return n;
}

torch::Tensor ConditionerImpl::check_precomputed(const io::TensorMap& features, const std::string& key,
                                                 double duration, const std::string& source,
                                                 const std::vector<std::string>& clip_ids) const {
    int64_t dim = 0, len = -1;
    const char* dim_name = "";
    const FeatureLengths lengths =
        duration > 0.0 ? feature_lengths(duration, config_.text_seq_len) : FeatureLengths{};
    if (key == kClipFeaturesKey) {
        dim = config_.clip_dim, dim_name = "clip_dim", len = duration > 0.0 ? lengths.clip_frames : -1;
    } else if (key == kSyncFeaturesKey) {
        dim = config_.sync_dim, dim_name = "sync_dim", len = duration > 0.0 ? lengths.sync : -1;
    } else if (key == kTextFeaturesKey) {
        dim = config_.text_dim, dim_name = "text_dim", len = config_.text_seq_len;  // fixed, any duration
    } else {
        fail(ErrorKind::Usage, "conditioner: unknown feature key '", key, "'");
    }
    const auto it = features.find(key);
    V2A_CHECK(it != features.end() && it->second.defined(), Data, source, ": missing '", key, "'");
    auto x = it->second;
    V2A_CHECK(x.dim() == 2 || x.dim() == 3, Data, source, ": '", key, "' must be [L, ", dim, "] or [B, L, ", dim,
              "], got ", x.sizes());
    if (x.dim() == 2) x = x.unsqueeze(0);
    V2A_CHECK(torch::isFloatingType(x.scalar_type()), Data, source, ": '", key, "' must be floating point, got ",
              x.scalar_type());
    V2A_CHECK(x.size(2) == dim, Data, source, ": '", key, "' has width ", x.size(2), " but ", dim_name, " is ", dim);
    if (key == kTextFeaturesKey) {
        V2A_CHECK(x.size(1) == len, Data, source, ": '", key, "' has ", x.size(1), " tokens but text_seq_len is ",
                  len);
    } else if (len >= 0) {
        V2A_CHECK(x.size(1) == len, Data, source, ": '", key, "' has ", x.size(1), " tokens but a ", duration,
                  " s clip needs ", len);
    }
    const int64_t B = x.size(0);
    V2A_CHECK(clip_ids.empty() || static_cast<int64_t>(clip_ids.size()) == B, Data, source, ": ", clip_ids.size(),
              " clip ids for '", key, "' with batch ", B);
    if (x.numel() > 0) {
        const auto finite = torch::isfinite(x).reshape({B, -1}).all(1);  // [B]
        if (!finite.all().item<bool>()) {
            const auto b = (~finite).nonzero()[0][0].item<int64_t>();
            fail(ErrorKind::Data, source, ": '", key, "' of clip ",
                 clip_ids.empty() ? "#" + std::to_string(b) : "'" + clip_ids[static_cast<size_t>(b)] + "'",
                 " has non-finite values");
        }
    }
    return x.to(device(), torch::kFloat);
}

io::TensorMap ConditionerImpl::load_precomputed(const std::vector<std::filesystem::path>& files,
                                                double duration) const {
    const auto keys = precomputed_keys();
    V2A_CHECK(!keys.empty(), Usage, "conditioner: no stream is precomputed; there is nothing to load");
    V2A_CHECK(!files.empty(), Usage, "conditioner: no precomputed feature files given");
    std::map<std::string, std::vector<torch::Tensor>> parts;
    for (const auto& file : files) {
        const auto header = io::read_safetensors_header(file);
        for (const auto& key : keys) {
            V2A_CHECK(header.find(key) != nullptr, Data, file.string(), ": missing '", key, "'");
        }
        const auto tensors = io::load_safetensors_subset(file, keys);
        for (const auto& key : keys) {
            auto x = check_precomputed(tensors, key, duration, file.string());
            V2A_CHECK(x.size(0) == 1, Data, file.string(), ": '", key, "' holds ", x.size(0),
                      " clips; one clip per file is expected");
            auto& list = parts[key];
            if (!list.empty()) {
                V2A_CHECK(x.size(1) == list.front().size(1), Data, file.string(), ": '", key, "' has ", x.size(1),
                          " tokens but ", files.front().string(), " has ", list.front().size(1),
                          " (clips of one batch need equal lengths)");
            }
            list.push_back(x);
        }
    }
    io::TensorMap out;
    for (auto& [key, list] : parts) out[key] = torch::cat(list, 0);  // [B, L, D]
    return out;
}

ConditionFeatures ConditionerImpl::forward(const ConditionerInput& input) {
    const bool check = input.duration > 0.0;
    const FeatureLengths lengths = check ? feature_lengths(input.duration, config_.text_seq_len) : FeatureLengths{};
    const auto dev = device();
    ConditionFeatures out;

    if (config_.clip_mode == StreamMode::Learned) {
        const auto& f = input.frames_8fps;
        V2A_CHECK(f.defined(), Data, "conditioner: the clip stream is learned but no 8 fps frames were given");
        V2A_CHECK(!check || (f.dim() >= 2 && f.size(1) == lengths.clip_frames), Data, "conditioner: 8 fps frames ",
                  f.sizes(), " do not fit a ", input.duration, " s clip (needs ", lengths.clip_frames, " frames)");
        out.clip_f = semantic(f.to(dev));
    } else {
        out.clip_f = check_precomputed(input.precomputed, kClipFeaturesKey, input.duration, input.source,
                                       input.clip_ids);
    }

    if (config_.sync_mode == StreamMode::Learned) {
        const auto& f = input.frames_25fps;
        V2A_CHECK(f.defined(), Data, "conditioner: the sync stream is learned but no 25 fps frames were given");
        out.sync_f = sync(f.to(dev));
        V2A_CHECK(!check || out.sync_f.size(1) == lengths.sync, Data, "conditioner: 25 fps frames ", f.sizes(),
                  " give ", out.sync_f.size(1), " sync tokens but a ", input.duration, " s clip needs ", lengths.sync,
                  " (", lengths.sync_frames, " frames)");
    } else {
        out.sync_f = check_precomputed(input.precomputed, kSyncFeaturesKey, input.duration, input.source,
                                       input.clip_ids);
    }

    if (config_.text_mode == StreamMode::Learned) {
        V2A_CHECK(!input.captions.empty(), Data,
                  "conditioner: the text stream is learned but no captions were given (use \"\" for none)");
        out.text_f = text->encode(input.captions);
    } else {
        out.text_f = check_precomputed(input.precomputed, kTextFeaturesKey, input.duration, input.source,
                                       input.clip_ids);
    }

    const int64_t Bc = out.clip_f.size(0), Bs = out.sync_f.size(0), Bt = out.text_f.size(0);
    V2A_CHECK(Bc == Bs && Bc == Bt, Data, "conditioner (", input.source, "): batch sizes differ: clip ", Bc,
              ", sync ", Bs, ", text ", Bt);
    V2A_CHECK(input.clip_ids.empty() || static_cast<int64_t>(input.clip_ids.size()) == Bc, Data, "conditioner (",
              input.source, "): ", input.clip_ids.size(), " clip ids for a batch of ", Bc);
    return out;
}

torch::Tensor ConditionerImpl::empty_text_features() {
    V2A_CHECK(config_.text_mode == StreamMode::Learned, Config,
              "conditioner: the text stream is precomputed, so the null text feature must come from the real "
              "text encoder (its encoding of \"\")");
    return text->empty_string_features();
}

}  // namespace v2a::model
