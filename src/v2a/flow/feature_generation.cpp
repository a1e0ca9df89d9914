#include "v2a/flow/feature_generation.h"

#include <cmath>

#include "v2a/core/error.h"
#include "v2a/core/precision.h"
#include "v2a/io/safetensors.h"

namespace v2a::flow {

FeatureClip read_feature_clip(const std::filesystem::path& path, V2AGenerator& generator) {
    const std::string what = path.string();
    auto file = io::load_safetensors(path);
    auto stream = [&](const char* key, int64_t width) {
        auto it = file.tensors.find(key);
        V2A_CHECK(it != file.tensors.end(), Data, what, ": no '", key, "' (MMAudio's feature files hold clip_features, "
                  "sync_features and text_features)");
        auto t = it->second;
        if (t.dim() == 3 && t.size(0) == 1) t = t.squeeze(0);
        V2A_CHECK(t.dim() == 2 && t.size(1) == width && t.size(0) > 0, Data, what, ": '", key, "' must be [L, ",
                  width, "] (or [1, L, ", width, "]) for this network, got ", it->second.sizes());
        t = t.to(torch::kFloat);
        V2A_CHECK(torch::isfinite(t).all().item<bool>(), Data, what, ": '", key, "' has non-finite values");
        return t.unsqueeze(0);
    };
    const auto& net = generator->config().network;
    FeatureClip clip;
    clip.features.clip_f = stream(model::kClipFeaturesKey, net.clip_dim);
    clip.features.sync_f = stream(model::kSyncFeaturesKey, net.sync_dim);
    clip.features.text_f = stream(model::kTextFeaturesKey, net.text_dim);
    V2A_CHECK(clip.features.text_f.size(1) == net.text_seq_len, Data, what, ": text_features has ",
              clip.features.text_f.size(1), " tokens, the network takes ", net.text_seq_len);
    clip.duration = static_cast<double>(clip.features.clip_f.size(1)) / 8.0;
    V2A_CHECK(clip.duration >= 1.0 && clip.duration <= 30.0, Data, what, ": ", clip.features.clip_f.size(1),
              " clip frames make a ", clip.duration, " s clip (1 to 30 s supported)");
    const auto lengths = net.sequence_lengths(clip.duration);
    V2A_CHECK(clip.features.sync_f.size(1) == lengths.sync, Data, what, ": sync_features has ",
              clip.features.sync_f.size(1), " tokens, a ", clip.duration, " s clip (", clip.features.clip_f.size(1),
              " clip frames) has ", lengths.sync);
    return clip;
}

bool takes_precomputed_features(const GeneratorConfig& config) {
    const auto& c = config.conditioner;
    return c.clip_mode == model::StreamMode::Precomputed && c.sync_mode == model::StreamMode::Precomputed &&
           c.text_mode == model::StreamMode::Precomputed;
}

std::vector<FeatureJob> feature_jobs(const io::Manifest& manifest, io::Split split, const std::filesystem::path& out_dir,
                                     uint64_t seed) {
    std::vector<FeatureJob> jobs;
    for (const auto& row : manifest.filter(split).rows) {
        V2A_CHECK(row.features.has_value(), Data, manifest.path.empty() ? "manifest" : manifest.path.string(), ":", row.line, ": clip '", row.id,
                  "' has no features file (the network takes MMAudio's precomputed features: add a 'features' "
                  "column naming each clip's file)");
        jobs.push_back({row.id, *row.features, out_dir / (row.id + ".wav"), seed + uint64_t(jobs.size())});
    }
    return jobs;
}

torch::Tensor sample_from_features(V2AGenerator& generator, const FeatureClip& clip, const GenerateOptions& options,
                                   const StepCallback& callback) {
    V2A_CHECK(takes_precomputed_features(generator->config()),
              Usage, "generate --features: the generator must take precomputed features (a network converted with "
                     "v2a convert); this one encodes videos and captions itself");
    torch::NoGradGuard no_grad;
    generator->eval();
    if (std::abs(generator->duration() - clip.duration) > 1e-9) generator->set_duration(clip.duration);
    const AutocastScope precision(options.precision);
    const auto x0 = seeded_noise({options.seed}, generator->net->latent_seq_len(), generator->config().network.latent_dim);
    return generator->sample_from(clip.features, x0, options.sampler, {}, callback);
}

}  // namespace v2a::flow
