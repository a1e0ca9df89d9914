#include "v2a/audio/any_vae.h"

#include "v2a/core/error.h"
#include "v2a/io/safetensors.h"

namespace v2a::audio {

AnyVae::AnyVae(MelVae ours) : ours_(std::move(ours)) {
    V2A_CHECK(!ours_.is_empty(), Usage, "AnyVae: empty VAE");
}

AnyVae::AnyVae(MMAudioVae mmaudio) : mmaudio_(std::move(mmaudio)) {
    V2A_CHECK(!mmaudio_.is_empty(), Usage, "AnyVae: empty VAE");
}

bool is_mmaudio_vae_file(const std::filesystem::path& path) {
    const auto header = io::read_safetensors_header(path);
    const auto kind = header.metadata.find("kind");
    return kind != header.metadata.end() && kind->second == kMMAudioVaeKind;
}

AnyVae AnyVae::load(const std::filesystem::path& path) {
    return is_mmaudio_vae_file(path) ? AnyVae(load_mmaudio_vae(path)) : AnyVae(load_vae(path));
}

VaePosterior AnyVae::encode(const torch::Tensor& log_mel) {
    return ours_ ? ours_->encode(log_mel) : mmaudio_->encode(log_mel);
}

torch::Tensor AnyVae::decode(const torch::Tensor& latent) {
    return ours_ ? ours_->decode(latent) : mmaudio_->decode(latent);
}

int64_t AnyVae::n_mels() const { return ours_ ? ours_->options().n_mels : mmaudio_->options().data_dim; }

int64_t AnyVae::latent_dim() const { return ours_ ? ours_->options().latent_dim : mmaudio_->options().embed_dim; }

int64_t AnyVae::downsample() const { return ours_ ? ours_->options().downsample : 2; }  // MMAudio: always 2x

std::optional<std::pair<torch::Tensor, torch::Tensor>> AnyVae::latent_stats() const {
    if (!ours_) return std::nullopt;
    return ours_->latent_stats();
}

}  // namespace v2a::audio
