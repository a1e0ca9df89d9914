#include "v2a/flow/pipeline.h"

#include "v2a/core/error.h"

namespace v2a::flow {

Pipeline::Pipeline(V2AGenerator generator, audio::MelVae vae, std::unique_ptr<audio::Vocoder> vocoder)
    : generator_(std::move(generator)), vae_(std::move(vae)), vocoder_(std::move(vocoder)) {
    V2A_CHECK(vae_->options().latent_dim == generator_->config().network.latent_dim, Config,
              "pipeline: the VAE has ", vae_->options().latent_dim, " latent channels, the generator ",
              generator_->config().network.latent_dim);
    V2A_CHECK(vae_->options().n_mels == vocoder_->mel_options().n_mels, Config, "pipeline: the VAE makes ",
              vae_->options().n_mels, " mel bins, the vocoder expects ", vocoder_->mel_options().n_mels);
}

Pipeline Pipeline::load(const std::filesystem::path& generator, const std::filesystem::path& vae,
                        const audio::GriffinLimOptions& vocoder) {
    return Pipeline(load_generator(generator), audio::load_vae(vae),
                    std::make_unique<audio::GriffinLimVocoder>(audio::MelOptions{}, vocoder));
}

torch::Tensor Pipeline::latents_to_audio(const torch::Tensor& latents) {
    torch::NoGradGuard no_grad;
    auto z = generator_->net->unnormalize(latents).transpose(1, 2);  // [B, C, N]
    return vocoder_->decode(vae_->decode(z));
}

torch::Tensor Pipeline::sample_latents(const torch::Tensor& frames_25fps, const std::vector<std::string>& captions,
                                       const GenerateOptions& options, const StepCallback& callback) {
    torch::NoGradGuard no_grad;
    generator_->eval();
    auto features = generator_->encode(frames_25fps, captions);
    auto rng = cpu_generator(options.seed);
    return generator_->sample(features, options.sampler, rng, options.negative, callback);
}

torch::Tensor Pipeline::generate(const torch::Tensor& frames_25fps, const std::vector<std::string>& captions,
                                 const GenerateOptions& options, const StepCallback& callback) {
    return latents_to_audio(sample_latents(frames_25fps, captions, options, callback));
}

}  // namespace v2a::flow
