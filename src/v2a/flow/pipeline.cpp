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

torch::Tensor Pipeline::sample_latents_seeded(const torch::Tensor& frames_25fps, const std::vector<std::string>& captions,
                                              const std::vector<uint64_t>& noise_seeds, const GenerateOptions& options,
                                              const StepCallback& callback) {
    torch::NoGradGuard no_grad;
    generator_->eval();
    V2A_CHECK(noise_seeds.size() == captions.size(), Usage, "generate: ", noise_seeds.size(), " seeds for ",
              captions.size(), " clips");
    auto features = generator_->encode(frames_25fps, captions);
    auto x0 = seeded_noise(noise_seeds, generator_->net->latent_seq_len(), generator_->config().network.latent_dim);
    return generator_->sample_from(features, x0, options.sampler, options.negative, callback);
}

torch::Tensor Pipeline::audio_to_latents(const torch::Tensor& wav) {
    torch::NoGradGuard no_grad;
    V2A_CHECK(wav.dim() == 2 && wav.size(0) >= 1, Usage, "audio_to_latents: expected [B, S], got ", wav.sizes());
    audio::MelSpectrogram mel;
    auto mels = mel(wav.to(torch::kFloat));
    mels = mels.narrow(2, 0, mels.size(2) - mels.size(2) % 2);
    auto z = vae_->encode(mels).mean.transpose(1, 2);  // [B, N, C]
    const int64_t n = generator_->net->latent_seq_len();
    V2A_CHECK(z.size(1) >= n, Data, "audio_to_latents: ", z.size(1), " latent frames, the generator needs ", n);
    return generator_->net->normalize(z.narrow(1, 0, n).contiguous());
}

}  // namespace v2a::flow
