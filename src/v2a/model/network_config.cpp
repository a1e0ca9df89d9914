#include "v2a/model/network_config.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "v2a/core/error.h"

namespace v2a::model {

int64_t swiglu_hidden_dim(int64_t hidden, int64_t multiple_of) {
    const auto h = static_cast<int64_t>(2.0 * static_cast<double>(hidden) / 3.0);  // Python int() truncation
    return multiple_of * ((h + multiple_of - 1) / multiple_of);
}

int64_t NetworkConfig::ffn_hidden_dim() const {
    return swiglu_hidden_dim(static_cast<int64_t>(static_cast<double>(hidden_dim) * mlp_ratio));
}

SequenceLengths NetworkConfig::sequence_lengths(double seconds) const {
    V2A_CHECK(seconds > 0.0 && std::isfinite(seconds), Config, "network config '", name,
              "': duration must be positive, got ", seconds);
    SequenceLengths s;
    // Same float expressions as sequence_config.py (8 s @ 16 kHz -> 250, @ 44.1 kHz -> 345).
    s.latent = static_cast<int64_t>(
        std::ceil(seconds * static_cast<double>(sample_rate) / static_cast<double>(hop) / 2.0));
    s.clip = static_cast<int64_t>(seconds * 8.0);
    const double sync_frames = seconds * 25.0;
    const double segments = std::floor((sync_frames - 16.0) / 8.0) + 1.0;
    s.sync = static_cast<int64_t>(segments * 16.0 / 2.0);
    V2A_CHECK(s.latent > 0 && s.clip > 0 && s.sync > 0, Config, "network config '", name, "': duration ",
              seconds, " s is too short (needs >= 0.64 s for one sync segment; got latent ", s.latent,
              ", clip ", s.clip, ", sync ", s.sync, " tokens)");
    return s;
}

void NetworkConfig::validate() const {
    auto positive = [&](int64_t v, const char* field) {
        V2A_CHECK(v > 0, Config, "network config '", name, "': ", field, " must be > 0, got ", v);
    };
    positive(latent_dim, "latent_dim");
    positive(clip_dim, "clip_dim");
    positive(sync_dim, "sync_dim");
    positive(text_dim, "text_dim");
    positive(text_seq_len, "text_seq_len");
    positive(hidden_dim, "hidden_dim");
    positive(num_heads, "num_heads");
    positive(depth, "depth");
    positive(sample_rate, "sample_rate");
    positive(hop, "hop");
    V2A_CHECK(hidden_dim % num_heads == 0, Config, "network config '", name, "': hidden_dim ", hidden_dim,
              " is not divisible by num_heads ", num_heads);
    V2A_CHECK(head_dim() % 2 == 0, Config, "network config '", name, "': head_dim ", head_dim(),
              " must be even for RoPE");
    V2A_CHECK(hidden_dim % 2 == 0, Config, "network config '", name, "': hidden_dim ", hidden_dim,
              " must be even (timestep embedding)");
    V2A_CHECK(fused_depth >= 0 && fused_depth < depth, Config, "network config '", name,
              "': fused_depth must be in [0, depth), got ", fused_depth, " with depth ", depth,
              " (at least one joint block is needed so clip/text reach the audio)");
    V2A_CHECK(mlp_ratio > 0.0, Config, "network config '", name, "': mlp_ratio must be > 0, got ", mlp_ratio);
    sequence_lengths();  // checks duration
}

NetworkConfig NetworkConfig::tiny() {
    NetworkConfig c;
    c.name = "tiny";
    c.latent_dim = 8;
    c.clip_dim = 32;
    c.sync_dim = 24;
    c.text_dim = 16;
    c.text_seq_len = 5;
    c.hidden_dim = 64;
    c.num_heads = 1;
    c.depth = 2;
    c.fused_depth = 1;
    c.duration = 2.0;
    return c;
}

NetworkConfig NetworkConfig::bench() {
    NetworkConfig c;
    c.name = "bench";
    c.latent_dim = 20;
    c.clip_dim = 128;
    c.sync_dim = 128;
    c.text_dim = 128;
    c.text_seq_len = 77;
    c.hidden_dim = 256;
    c.num_heads = 4;
    c.depth = 6;
    c.fused_depth = 4;
    c.duration = 4.0;
    return c;
}

NetworkConfig NetworkConfig::small_16k() {
    NetworkConfig c;
    c.name = "small_16k";
    c.latent_dim = 20;
    c.hidden_dim = 64 * 7;
    c.num_heads = 7;
    c.depth = 12;
    c.fused_depth = 8;
    c.sample_rate = 16000;
    c.hop = 256;
    return c;
}

NetworkConfig NetworkConfig::small_44k() {
    NetworkConfig c = small_16k();
    c.name = "small_44k";
    c.latent_dim = 40;
    c.sample_rate = 44100;
    c.hop = 512;
    return c;
}

NetworkConfig NetworkConfig::medium_44k() {
    NetworkConfig c = small_44k();
    c.name = "medium_44k";
    c.hidden_dim = 64 * 14;
    c.num_heads = 14;
    return c;
}

NetworkConfig NetworkConfig::large_44k() {
    NetworkConfig c = medium_44k();
    c.name = "large_44k";
    c.depth = 21;
    c.fused_depth = 14;
    return c;
}

NetworkConfig NetworkConfig::large_44k_v2() {
    NetworkConfig c = large_44k();
    c.name = "large_44k_v2";
    c.v2 = true;
    return c;
}

std::vector<std::string> NetworkConfig::preset_names() {
    return {"tiny", "bench", "small_16k", "small_44k", "medium_44k", "large_44k", "large_44k_v2"};
}

NetworkConfig NetworkConfig::preset(const std::string& name) {
    if (name == "tiny") return tiny();
    if (name == "bench") return bench();
    if (name == "small_16k") return small_16k();
    if (name == "small_44k") return small_44k();
    if (name == "medium_44k") return medium_44k();
    if (name == "large_44k") return large_44k();
    if (name == "large_44k_v2") return large_44k_v2();
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    fail(ErrorKind::Config, "unknown network preset '", name, "' (known: ", known, ")");
}

NetworkConfig NetworkConfig::from_json(const nlohmann::json& j) { return from_json(j, NetworkConfig()); }

nlohmann::json NetworkConfig::to_json() const {
    return nlohmann::json{{"name", name},
                          {"latent_dim", latent_dim},
                          {"clip_dim", clip_dim},
                          {"sync_dim", sync_dim},
                          {"text_dim", text_dim},
                          {"text_seq_len", text_seq_len},
                          {"hidden_dim", hidden_dim},
                          {"num_heads", num_heads},
                          {"depth", depth},
                          {"fused_depth", fused_depth},
                          {"mlp_ratio", mlp_ratio},
                          {"v2", v2},
                          {"sample_rate", sample_rate},
                          {"hop", hop},
                          {"duration", duration}};
}

NetworkConfig NetworkConfig::from_json(const nlohmann::json& j, const NetworkConfig& base) {
    V2A_CHECK(j.is_object(), Config, "network config: expected a JSON object, got ", j.type_name());
    NetworkConfig c = base;
    static const std::set<std::string> known = {"name",       "latent_dim", "clip_dim",  "sync_dim",
                                                "text_dim",   "text_seq_len", "hidden_dim", "num_heads",
                                                "depth",      "fused_depth", "mlp_ratio", "v2",
                                                "sample_rate", "hop",        "duration"};
    for (auto it = j.begin(); it != j.end(); ++it) {
        V2A_CHECK(known.count(it.key()) > 0, Config, "network config: unknown field '", it.key(), "'");
    }
    auto get_int = [&](const char* key, int64_t& out) {
        if (!j.contains(key)) return;
        V2A_CHECK(j[key].is_number_integer(), Config, "network config: field '", key,
                  "' must be an integer, got ", j[key].dump());
        out = j[key].get<int64_t>();
    };
    auto get_double = [&](const char* key, double& out) {
        if (!j.contains(key)) return;
        V2A_CHECK(j[key].is_number(), Config, "network config: field '", key, "' must be a number, got ",
                  j[key].dump());
        out = j[key].get<double>();
    };
    if (j.contains("name")) {
        V2A_CHECK(j["name"].is_string(), Config, "network config: field 'name' must be a string, got ",
                  j["name"].dump());
        c.name = j["name"].get<std::string>();
    }
    if (j.contains("v2")) {
        V2A_CHECK(j["v2"].is_boolean(), Config, "network config: field 'v2' must be a boolean, got ",
                  j["v2"].dump());
        c.v2 = j["v2"].get<bool>();
    }
    get_int("latent_dim", c.latent_dim);
    get_int("clip_dim", c.clip_dim);
    get_int("sync_dim", c.sync_dim);
    get_int("text_dim", c.text_dim);
    get_int("text_seq_len", c.text_seq_len);
    get_int("hidden_dim", c.hidden_dim);
    get_int("num_heads", c.num_heads);
    get_int("depth", c.depth);
    get_int("fused_depth", c.fused_depth);
    get_double("mlp_ratio", c.mlp_ratio);
    get_int("sample_rate", c.sample_rate);
    get_int("hop", c.hop);
    get_double("duration", c.duration);
    c.validate();
    return c;
}

MMAudioArchitecture mmaudio_architecture_from_args(const nlohmann::json& args, const NetworkConfig& base) {
    V2A_CHECK(args.is_object(), Config, "MMAudio arguments: expected a JSON object, got ", args.type_name());
    static const std::set<std::string> known = {"latent_dim",     "clip_dim",     "sync_dim",     "text_dim",
                                                "hidden_dim",     "depth",        "fused_depth",  "num_heads",
                                                "mlp_ratio",      "latent_seq_len", "clip_seq_len", "sync_seq_len",
                                                "text_seq_len",   "v2"};
    nlohmann::json config = nlohmann::json::object();
    for (auto it = args.begin(); it != args.end(); ++it) {
        V2A_CHECK(known.count(it.key()) > 0, Config, "MMAudio arguments: unknown argument '", it.key(), "'");
        if (it.key().find("_seq_len") == std::string::npos || it.key() == "text_seq_len") config[it.key()] = *it;
    }
    MMAudioArchitecture a;
    a.config = NetworkConfig::from_json(config, base);
    a.config.name = "mmaudio";
    a.lengths = a.config.sequence_lengths();
    auto length = [&](const char* key, int64_t& out) {
        if (!args.contains(key)) return;
        V2A_CHECK(args[key].is_number_integer() && args[key].get<int64_t>() > 0, Config, "MMAudio arguments: '",
                  key, "' must be a positive integer, got ", args[key].dump());
        out = args[key].get<int64_t>();
    };
    length("latent_seq_len", a.lengths.latent);
    length("clip_seq_len", a.lengths.clip);
    length("sync_seq_len", a.lengths.sync);
    V2A_CHECK(a.lengths.sync % 8 == 0, Config, "MMAudio arguments: sync_seq_len ", a.lengths.sync,
              " is not a multiple of 8 (tokens per sync segment)");
    return a;
}

NetworkConfig infer_network_config(const ShapeMap& shapes) {
    auto shape = [&](const std::string& key) -> const std::vector<int64_t>& {
        auto it = shapes.find(key);
        V2A_CHECK(it != shapes.end(), Model, "MMAudio state dict: no '", key,
                  "' (not an MMAudio network, or a prefix/nesting the converter did not strip)");
        return it->second;
    };
    auto dim = [&](const std::string& key, size_t rank, size_t axis) {
        const auto& s = shape(key);
        V2A_CHECK(s.size() == rank, Model, "MMAudio state dict: '", key, "' has rank ", s.size(), ", expected ", rank);
        return s[axis];
    };
    NetworkConfig c = NetworkConfig::small_16k();
    c.name = "mmaudio";
    // v2 puts an activation at index 1 of the clip/text input projections, so their MLP moves to index 2.
    const bool v1_layout = shapes.count("clip_input_proj.1.w1.weight") > 0;
    const bool v2_layout = shapes.count("clip_input_proj.2.w1.weight") > 0;
    V2A_CHECK(v1_layout != v2_layout, Model, "MMAudio state dict: cannot tell v1 from v2 (clip_input_proj.1 and "
              "clip_input_proj.2 both ", v1_layout ? "present" : "absent", ")");
    c.v2 = v2_layout;
    c.hidden_dim = dim("audio_input_proj.0.weight", 3, 0);
    c.latent_dim = dim("audio_input_proj.0.weight", 3, 1);
    c.clip_dim = dim("clip_input_proj.0.weight", 2, 1);
    c.sync_dim = dim("sync_input_proj.0.weight", 3, 1);
    c.text_dim = dim("text_input_proj.0.weight", 2, 1);
    c.text_seq_len = dim("empty_string_feat", 2, 0);
    int64_t joint = 0, fused = 0;
    static const std::regex block_re(R"(^(joint|fused)_blocks\.(\d+)\.)");
    for (const auto& [key, s] : shapes) {
        std::smatch m;
        if (!std::regex_search(key, m, block_re)) continue;
        int64_t& count = m[1].str() == "joint" ? joint : fused;
        count = std::max<int64_t>(count, std::stoll(m[2].str()) + 1);
    }
    V2A_CHECK(joint > 0, Model, "MMAudio state dict: no joint_blocks.* keys");
    c.depth = joint + fused;
    c.fused_depth = fused;
    const int64_t head_dim = dim("joint_blocks.0.latent_block.attn.q_norm.weight", 1, 0);
    V2A_CHECK(head_dim > 0 && c.hidden_dim % head_dim == 0, Model, "MMAudio state dict: q_norm width ", head_dim,
              " does not divide hidden_dim ", c.hidden_dim);
    c.num_heads = c.hidden_dim / head_dim;
    // FFN width = swiglu(mlp_ratio * hidden): MMAudio always uses 4.0; other ratios are tried in quarters.
    const int64_t ffn = dim("joint_blocks.0.latent_block.ffn.w1.weight", 3, 0);
    std::vector<double> ratios{4.0};  // first: several ratios can round to one width
    for (int q = 1; q <= 64; ++q) {
        if (q != 16) ratios.push_back(q / 4.0);
    }
    auto ratio = std::find_if(ratios.begin(), ratios.end(), [&](double r) {
        return swiglu_hidden_dim(static_cast<int64_t>(static_cast<double>(c.hidden_dim) * r)) == ffn;
    });
    V2A_CHECK(ratio != ratios.end(), Model, "MMAudio state dict: FFN width ", ffn,
              " matches no mlp_ratio for hidden_dim ", c.hidden_dim);
    c.mlp_ratio = *ratio;
    const int64_t t_freq = dim("t_embed.mlp.0.weight", 2, 1);
    V2A_CHECK(t_freq == (c.v2 ? c.hidden_dim : 256), Model, "MMAudio state dict: t_embed.mlp.0.weight has ", t_freq,
              " inputs, expected ", c.v2 ? c.hidden_dim : 256, " for the ", c.v2 ? "v2" : "v1", " layout");
    if (c.latent_dim == 40) {
        c.sample_rate = 44100;
        c.hop = 512;
    } else {
        c.sample_rate = 16000;
        c.hop = 256;
    }
    c.duration = 8.0;
    c.validate();
    return c;
}

}  // namespace v2a::model
