#include "v2a/flow/generator.h"

#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/clip_dataset.h"

namespace v2a::flow {

GeneratorConfig GeneratorConfig::preset(const std::string& name, double duration, int frame_size) {
    GeneratorConfig c;
    if (name == "tiny" || name == "bench") {
        c.network = model::NetworkConfig::preset(name);
        c.conditioner = model::ConditionerConfig::for_network(c.network, name);
    } else {
        // Paper-size networks take MMAudio's feature widths; the stand-in encoders are sized like
        // bench and widened to those dimensions (or fed precomputed real features).
        c.network = model::NetworkConfig::preset(name);
        c.conditioner = model::ConditionerConfig::for_network(c.network, "bench");
    }
    c.duration = duration;
    c.frame_size = frame_size;
    c.network.duration = duration;
    c.conditioner.clip_frame_size = frame_size;
    c.conditioner.sync_frame_size = frame_size;
    c.validate();
    return c;
}

GeneratorConfig GeneratorConfig::mmaudio(const model::NetworkConfig& network, double duration) {
    GeneratorConfig c;
    c.network = network;
    c.network.duration = duration;
    c.conditioner = model::ConditionerConfig::for_network(network, "paper");
    c.conditioner.name = "mmaudio";
    c.conditioner.clip_mode = c.conditioner.sync_mode = c.conditioner.text_mode = model::StreamMode::Precomputed;
    c.duration = duration;
    c.validate();
    return c;
}

std::string GeneratorConfig::to_json() const {
    nlohmann::json j = {{"network", network.to_json()},
                        {"conditioner", conditioner.to_json()},
                        {"duration", duration},
                        {"frame_size", frame_size}};
    return j.dump();
}

GeneratorConfig GeneratorConfig::from_json(const std::string& text) {
    GeneratorConfig c;
    try {
        auto j = nlohmann::json::parse(text);
        c.network = model::NetworkConfig::from_json(j.at("network"));
        c.conditioner = model::ConditionerConfig::from_json(j.at("conditioner"));
        c.duration = j.at("duration").get<double>();
        c.frame_size = j.at("frame_size").get<int>();
    } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::Config, "generator: bad config JSON (", e.what(), ")");
    }
    c.validate();
    return c;
}

void GeneratorConfig::validate() const {
    network.validate();
    conditioner.validate();
    conditioner.check_matches(network);
    V2A_CHECK(duration >= 1.0 && duration <= 30.0, Config, "generator: duration must be in [1, 30] s (got ",
              duration, ")");
    V2A_CHECK(frame_size >= 16 && frame_size <= 384, Config, "generator: frame_size must be in [16, 384] (got ",
              frame_size, ")");
}

V2AGeneratorImpl::V2AGeneratorImpl(const GeneratorConfig& config) : config_(config) {
    config_.validate();
    model::NetworkConfig nc = config_.network;
    nc.duration = config_.duration;
    net = register_module("net", model::MMAudio(nc));
    cond = register_module("cond", model::Conditioner(config_.conditioner));
}

void V2AGeneratorImpl::set_duration(double seconds) {
    config_.duration = seconds;
    net->update_duration(seconds);
}

model::ConditionFeatures V2AGeneratorImpl::null_features(int64_t batch, const std::vector<std::string>& negative) {
    model::ConditionFeatures f;
    f.clip_f = net->get_empty_clip_sequence(batch);
    f.sync_f = net->get_empty_sync_sequence(batch);
    if (!negative.empty()) {
        V2A_CHECK(int64_t(negative.size()) == batch, Usage, "generator: ", negative.size(),
                  " negative prompts for a batch of ", batch);
        V2A_CHECK(cond->config().text_mode == model::StreamMode::Learned, Usage,
                  "generator: negative prompts need a text encoder, and this generator's text features are "
                  "precomputed (give negative text features instead)");
        f.text_f = cond->text->encode(negative);
    } else if (cond->config().text_mode == model::StreamMode::Precomputed) {
        // Real text features come from outside (MMAudio's CLIP): the null text is the network's stored
        // encoding of "" (empty_string_feat), exactly as MMAudio's get_empty_conditions.
        f.text_f = net->get_empty_string_sequence(batch);
    } else {
        f.text_f = cond->empty_text_features().unsqueeze(0).expand({batch, -1, -1});
    }
    return f;
}

model::ConditionFeatures V2AGeneratorImpl::encode(const torch::Tensor& frames_25fps,
                                                  const std::vector<std::string>& captions) {
    const int64_t batch = int64_t(captions.size());
    V2A_CHECK(batch > 0, Usage, "generator: empty batch");
    if (!frames_25fps.defined()) {  // text-to-audio: null video features, real text
        auto f = null_features(batch);
        f.text_f = cond->text->encode(captions);
        return f;
    }
    V2A_CHECK(frames_25fps.dim() == 5 && frames_25fps.size(0) == batch, Data, "generator: expected frames [",
              batch, ", T, H, W, 3], got ", frames_25fps.sizes());
    const auto lengths = model::feature_lengths(config_.duration, config_.network.text_seq_len);
    V2A_CHECK(frames_25fps.size(1) >= lengths.sync_frames, Data, "generator: ", frames_25fps.size(1),
              " frames at 25 fps are fewer than the ", lengths.sync_frames, " a ", config_.duration, " s clip needs");
    auto frames25 = frames_25fps.narrow(1, 0, lengths.sync_frames);
    auto idx = io::resample_frame_indices(config_.duration, 25.0, 8.0);
    model::ConditionerInput input;
    input.frames_25fps = frames25;
    input.frames_8fps = frames25.index_select(1, torch::tensor(idx, torch::kInt64));
    input.captions = captions;
    input.duration = config_.duration;
    return cond->forward(input);
}

torch::Tensor V2AGeneratorImpl::velocity(const torch::Tensor& x_t, const torch::Tensor& t,
                                         const model::ConditionFeatures& f) {
    return net->forward(x_t, f.clip_f, f.sync_f, f.text_f, t);
}

torch::Tensor V2AGeneratorImpl::flow_loss(const torch::Tensor& x1, const model::ConditionFeatures& features,
                                          torch::Generator& generator, const ConditionDropoutOptions& dropout) {
    const int64_t batch = x1.size(0);
    auto mask = shard_rows(draw_condition_dropout(batch, generator, dropout));
    model::ConditionFeatures f;
    f.clip_f = apply_condition_dropout(features.clip_f, mask.clip, net->empty_clip_feat);
    f.sync_f = apply_condition_dropout(features.sync_f, mask.sync, net->empty_sync_feat);
    f.text_f = apply_condition_dropout(features.text_f, mask.text, cond->empty_text_features());
    FlowMatching fm;
    auto sample = shard_rows(fm.draw(x1, generator));
    V2A_CHECK(f.clip_f.size(0) == sample.x_t.size(0), Internal, "flow_loss: features for ", f.clip_f.size(0),
              " rows, this process trains ", sample.x_t.size(0));
    auto v = velocity(sample.x_t, sample.t, f);
    return per_sample_mse(v, sample.target);
}

torch::Tensor V2AGeneratorImpl::sample(const model::ConditionFeatures& features, const EulerSamplerOptions& options,
                                       torch::Generator& generator, const std::vector<std::string>& negative,
                                       const StepCallback& callback) {
    const auto x0 = randn_from({features.batch_size(), net->latent_seq_len(), config_.network.latent_dim}, generator,
                               torch::kFloat);
    return sample_from(features, x0, options, negative, callback);
}

torch::Tensor V2AGeneratorImpl::sample_from(const model::ConditionFeatures& features, const torch::Tensor& x0,
                                             const EulerSamplerOptions& options,
                                             const std::vector<std::string>& negative, const StepCallback& callback) {
    const int64_t batch = features.batch_size();
    V2A_CHECK(x0.dim() == 3 && x0.size(0) == batch && x0.size(1) == net->latent_seq_len() &&
                  x0.size(2) == config_.network.latent_dim,
              Usage, "generator: start noise must be [", batch, ", ", net->latent_seq_len(), ", ",
              config_.network.latent_dim, "], got ", x0.sizes());
    GeneratorVelocity field(V2AGenerator(std::static_pointer_cast<V2AGeneratorImpl>(shared_from_this())),
                            features, null_features(batch, negative));
    return EulerSampler(options).integrate(field, x0, callback);
}

uint64_t noise_seed(const std::string& clip_id, uint64_t seed) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : clip_id) h = (h ^ c) * 1099511628211ULL;
    return h ^ (seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL);
}

torch::Tensor seeded_noise(const std::vector<uint64_t>& seeds, int64_t tokens, int64_t channels) {
    V2A_CHECK(!seeds.empty(), Usage, "seeded noise: no seeds");
    std::vector<torch::Tensor> rows;
    for (uint64_t s : seeds) {
        auto g = cpu_generator(s);
        rows.push_back(randn_from({tokens, channels}, g, torch::kFloat));
    }
    return torch::stack(rows);
}

GeneratorVelocity::GeneratorVelocity(V2AGenerator generator, const model::ConditionFeatures& f,
                                     const model::ConditionFeatures& null_f)
    : generator_(std::move(generator)) {
    auto& net = generator_->net;
    cond_ = net->preprocess_conditions(f.clip_f, f.sync_f, f.text_f);
    uncond_ = net->preprocess_conditions(null_f.clip_f, null_f.sync_f, null_f.text_f);
    auto cat = [](const torch::Tensor& a, const torch::Tensor& b) { return torch::cat({a, b}, 0); };
    both_.clip_f = cat(cond_.clip_f, uncond_.clip_f);
    both_.sync_f = cat(cond_.sync_f, uncond_.sync_f);
    both_.text_f = cat(cond_.text_f, uncond_.text_f);
    both_.clip_f_c = cat(cond_.clip_f_c, uncond_.clip_f_c);
    both_.text_f_c = cat(cond_.text_f_c, uncond_.text_f_c);
}

torch::Tensor GeneratorVelocity::velocity(const torch::Tensor& x, const torch::Tensor& t, const BatchLayout& layout) {
    switch (layout.guidance) {
        case Guidance::Conditional: return generator_->net->predict_flow(x, t, cond_);
        case Guidance::Unconditional: return generator_->net->predict_flow(x, t, uncond_);
        case Guidance::CondThenUncond: return generator_->net->predict_flow(x, t, both_);
    }
    fail(ErrorKind::Internal, "generator: unknown guidance layout");
}

void save_generator(const std::filesystem::path& path, V2AGenerator& generator) {
    io::save_checkpoint(path, *generator, generator->config().to_json(), {{"kind", "v2a_generator"}});
}

V2AGenerator load_generator(const std::filesystem::path& path) {
    const std::string config = io::read_checkpoint_config(path);
    V2A_CHECK(!config.empty(), Data, path.string(), ": has no generator config in its metadata");
    V2AGenerator generator(GeneratorConfig::from_json(config));
    io::load_checkpoint(path, *generator, true);
    generator->eval();
    return generator;
}

}  // namespace v2a::flow
