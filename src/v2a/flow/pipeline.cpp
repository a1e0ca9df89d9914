#include "v2a/flow/pipeline.h"

#include <algorithm>
#include <cmath>

#include "v2a/core/error.h"

namespace v2a::flow {

io::Audio to_audio(const torch::Tensor& wav, int sample_rate) {
    io::Audio a;
    a.sample_rate = sample_rate;
    auto c = wav.contiguous().to(torch::kFloat32);
    a.samples.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    float peak = 0;
    for (float s : a.samples) peak = std::max(peak, std::abs(s));
    if (peak > 0.99f) {
        for (float& s : a.samples) s *= 0.99f / peak;
    }
    return a;
}

Pipeline::Pipeline(V2AGenerator generator, audio::AnyVae vae, std::unique_ptr<audio::Vocoder> vocoder)
    : generator_(std::move(generator)), vae_(std::move(vae)), vocoder_(std::move(vocoder)) {
    V2A_CHECK(vae_.latent_dim() == generator_->config().network.latent_dim, Config, "pipeline: the ",
              vae_.kind_name(), " VAE has ", vae_.latent_dim(), " latent channels, the generator ",
              generator_->config().network.latent_dim);
    V2A_CHECK(vae_.n_mels() == vocoder_->mel_options().n_mels, Config, "pipeline: the ", vae_.kind_name(),
              " VAE makes ", vae_.n_mels(), " mel bins, the vocoder expects ", vocoder_->mel_options().n_mels);
}

Pipeline Pipeline::load(const std::filesystem::path& generator, const std::filesystem::path& vae,
                        const audio::GriffinLimOptions& vocoder) {
    auto codec = audio::AnyVae::load(vae);
    const auto mel = codec.n_mels() == audio::MelOptions::mmaudio_44k().n_mels ? audio::MelOptions::mmaudio_44k()
                                                                               : audio::MelOptions{};
    return Pipeline(load_generator(generator), std::move(codec),
                    std::make_unique<audio::GriffinLimVocoder>(mel, vocoder));
}

torch::Tensor Pipeline::latents_to_audio(const torch::Tensor& latents) {
    torch::NoGradGuard no_grad;
    auto z = generator_->net->unnormalize(latents).transpose(1, 2);  // [B, C, N]
    return vocoder_->decode(vae_.decode(z));
}

torch::Tensor Pipeline::sample_latents(const torch::Tensor& frames_25fps, const std::vector<std::string>& captions,
                                       const GenerateOptions& options, const StepCallback& callback) {
    torch::NoGradGuard no_grad;
    generator_->eval();
    const AutocastScope precision(options.precision);
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
    const AutocastScope precision(options.precision);
    // K samples of one clip repeat its rows: encode each distinct (video, caption) once (the
    // encoders cost as much as several flow steps) and gather the features back per row.
    std::vector<int64_t> unique, row_to_unique;
    for (size_t i = 0; i < captions.size(); ++i) {
        int64_t found = -1;
        for (size_t u = 0; u < unique.size() && found < 0; ++u) {
            const auto j = unique[u];
            const bool same_video = !frames_25fps.defined() || frames_25fps[int64_t(i)].equal(frames_25fps[j]);
            if (captions[i] == captions[size_t(j)] && same_video) found = int64_t(u);
        }
        if (found < 0) {
            found = int64_t(unique.size());
            unique.push_back(int64_t(i));
        }
        row_to_unique.push_back(found);
    }
    model::ConditionFeatures features;
    if (unique.size() == captions.size()) {
        features = generator_->encode(frames_25fps, captions);
    } else {
        std::vector<std::string> ucap;
        for (auto j : unique) ucap.push_back(captions[size_t(j)]);
        const auto uidx = torch::tensor(unique, torch::kInt64);
        auto f = generator_->encode(frames_25fps.defined() ? frames_25fps.index_select(0, uidx) : frames_25fps, ucap);
        const auto back = torch::tensor(row_to_unique, torch::kInt64);
        features = {f.clip_f.index_select(0, back), f.sync_f.index_select(0, back), f.text_f.index_select(0, back)};
    }
    auto x0 = seeded_noise(noise_seeds, generator_->net->latent_seq_len(), generator_->config().network.latent_dim);
    return generator_->sample_from(features, x0, options.sampler, options.negative, callback);
}

torch::Tensor Pipeline::audio_to_latents(const torch::Tensor& wav) {
    torch::NoGradGuard no_grad;
    V2A_CHECK(wav.dim() == 2 && wav.size(0) >= 1, Usage, "audio_to_latents: expected [B, S], got ", wav.sizes());
    audio::MelSpectrogram mel(vocoder_->mel_options());
    return mels_to_latents(mel(wav.to(torch::kFloat)));
}

torch::Tensor Pipeline::reencode_latents(const torch::Tensor& latents) {
    torch::NoGradGuard no_grad;
    V2A_CHECK(latents.dim() == 3, Usage, "reencode_latents: expected [B, N, C], got ", latents.sizes());
    return mels_to_latents(vae_.decode(generator_->net->unnormalize(latents).transpose(1, 2)));
}

torch::Tensor Pipeline::mels_to_latents(const torch::Tensor& log_mel) {
    auto z = vae_.encode(audio::trim_mel_frames(log_mel, vae_.downsample())).mean.transpose(1, 2);  // [B, N, C]
    const int64_t n = generator_->net->latent_seq_len();
    V2A_CHECK(z.size(1) >= n, Data, "VAE encode: ", z.size(1), " latent frames, the generator needs ", n);
    return generator_->net->normalize(z.narrow(1, 0, n).contiguous());
}

}  // namespace v2a::flow
