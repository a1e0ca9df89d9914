#include "v2a/flow/mmaudio_convert.h"

#include <algorithm>

#include "v2a/audio/mmaudio_vae.h"
#include "v2a/core/error.h"
#include "v2a/flow/generator.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/pth.h"
#include "v2a/io/safetensors.h"

namespace v2a::flow {
namespace {

bool has(const io::TensorMap& t, const std::string& key) { return t.count(key) > 0; }

CheckpointKind detect_kind(const io::TensorMap& t, const std::string& what) {
    if (has(t, "audio_input_proj.0.weight")) return CheckpointKind::Network;
    if (has(t, "encoder.conv_in.weight") && has(t, "decoder.conv_out.weight")) return CheckpointKind::Vae;
    std::string some;
    int n = 0;
    for (const auto& [k, v] : t) {
        if (n++ == 5) break;
        some += (some.empty() ? "" : ", ") + k;
    }
    fail(ErrorKind::Data, what, ": neither an MMAudio network (no audio_input_proj.0.weight) nor its VAE (no "
         "encoder.conv_in.weight); keys start ", some, "; name the state dict inside the file with --key");
}

int64_t dim(const io::TensorMap& t, const std::string& key, int64_t axis, const std::string& what) {
    auto it = t.find(key);
    V2A_CHECK(it != t.end(), Model, what, ": no '", key, "'");
    V2A_CHECK(it->second.dim() > axis, Model, what, ": '", key, "' has shape ", it->second.sizes());
    return it->second.size(axis);
}

}  // namespace

std::string to_string(CheckpointKind kind) {
    switch (kind) {
        case CheckpointKind::Auto: return "auto";
        case CheckpointKind::Network: return "network";
        case CheckpointKind::Vae: return "vae";
    }
    return "?";
}

CheckpointKind checkpoint_kind_from_string(const std::string& text) {
    if (text == "auto") return CheckpointKind::Auto;
    if (text == "network") return CheckpointKind::Network;
    if (text == "vae") return CheckpointKind::Vae;
    fail(ErrorKind::Usage, "checkpoint kind must be auto, network or vae, got '", text, "'");
}

ConvertReport convert_mmaudio_checkpoint(const std::filesystem::path& in, const std::filesystem::path& out,
                                         const ConvertOptions& options) {
    const std::string what = in.string();
    ConvertReport report;
    io::TensorMap tensors;
    const auto ext = in.extension().string();
    if (ext == ".safetensors") {
        tensors = io::load_safetensors(in).tensors;
    } else {
        auto pth = io::load_pth(in);
        tensors = std::move(pth.tensors);
        report.ignored = pth.non_tensors;
    }
    if (!options.key.empty()) {
        tensors = io::select_prefix(tensors, options.key, what);
        report.wrapper = options.key;
    } else {
        // Training checkpoints wrap the weights next to optimizer state: keep the first wrapper that holds a
        // whole network or VAE, preferring EMA weights as MMAudio's inference does.
        for (const std::string& w : {"ema", "ema_model", "weights", "generator", "model", "state_dict", "net", "network"}) {
            const std::string p = w + ".";
            const bool any = std::any_of(tensors.begin(), tensors.end(),
                                         [&](const auto& kv) { return kv.first.compare(0, p.size(), p) == 0; });
            if (!any) continue;
            auto sub = io::select_prefix(tensors, w, what);
            const bool inner = io::strip_module_prefix(sub);  // DataParallel's "module."
            if (has(sub, "audio_input_proj.0.weight") || has(sub, "encoder.conv_in.weight")) {
                tensors = std::move(sub);
                report.wrapper = inner ? w + ".module" : w;
                break;
            }
        }
        // A bare DataParallel state dict (no wrapper found above); stripped once, never twice.
        if (report.wrapper.empty() && io::strip_module_prefix(tensors)) report.wrapper = "module";
    }
    report.kind = options.kind == CheckpointKind::Auto ? detect_kind(tensors, what) : options.kind;

    // Dtypes: the networks compute in fp32 (bf16 only under autocast), so the file is fp32 unless asked.
    for (auto& [k, t] : tensors) {
        if (!t.is_floating_point() || t.scalar_type() == torch::kFloat || options.keep_dtype) continue;
        if (report.converted_dtypes.size() < 5) {
            report.converted_dtypes.push_back(k + ": " + std::string(c10::toString(t.scalar_type())) + " -> Float");
        }
        t = t.to(torch::kFloat);
    }

    if (report.kind == CheckpointKind::Network) {
        model::ShapeMap shapes;
        for (const auto& [k, t] : tensors) shapes[k] = t.sizes().vec();
        const auto network = model::infer_network_config(shapes);
        V2AGenerator generator(GeneratorConfig::mmaudio(network, options.duration));
        for (const auto& k : model::MMAudioImpl::derived_buffer_keys()) {
            if (tensors.erase(k) > 0) report.ignored.push_back(k);
        }
        generator->net->load_state_dict(tensors, /*strict=*/true, what);
        generator->eval();
        save_generator(out, generator);
        report.tensors = tensors.size();
        report.config = generator->config().to_json();
    } else {
        audio::MMAudioVaeOptions o;
        o.data_dim = dim(tensors, "encoder.conv_in.weight", 1, what);
        o.hidden_dim = dim(tensors, "encoder.conv_in.weight", 0, what);
        o.embed_dim = dim(tensors, "decoder.conv_in.weight", 1, what);
        audio::MMAudioVae vae(o);
        vae->load_mmaudio_state_dict(tensors, what);  // validates names and shapes; the file keeps them unfolded
        io::save_safetensors(out, tensors,
                             {{io::kCheckpointConfigKey, o.to_json()},
                              {io::kCheckpointFormatKey, std::to_string(io::kCheckpointFormatVersion)},
                              {"kind", audio::kMMAudioVaeKind},
                              {"format", "pt"}});
        report.tensors = tensors.size();
        report.config = o.to_json();
    }
    return report;
}

}  // namespace v2a::flow
