// MMAudio's 1-D VAE against MMAudio's own vae.py (fixtures in tests/data/mmaudio_parity, random weights,
// outputs after remove_weight_norm): encoder moments and both decodes within 1e-4 relative max error in
// fp32, from the state dict as a checkpoint holds it (weight norm folded at load).
#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/parity_fixture.h"
#include "v2a/audio/mmaudio_vae.h"
#include "v2a/io/checkpoint.h"

namespace v2a::audio {
namespace {

using test::kParityTolerance;
using test::relative_max_error;

MMAudioVae fixture_vae() {
    const auto weights = test::parity_file("vae_weights.safetensors");
    MMAudioVae vae(MMAudioVaeOptions::from_json(weights.metadata.at("config")));
    vae->load_mmaudio_state_dict(weights.tensors, "vae_weights.safetensors");
    vae->eval();
    return vae;
}

TEST(MMAudioVaeTest, EncoderMomentsMatchTheReference) {
    torch::NoGradGuard no_grad;
    auto vae = fixture_vae();
    const auto io = test::parity_file("vae_io.safetensors").tensors;
    const auto posterior = vae->encode(io.at("in.mel"));
    const double mean_err = relative_max_error(posterior.mean, io.at("out.mean"));
    const double logvar_err = relative_max_error(2.0 * posterior.std.log(), io.at("out.logvar"));
    std::printf("[ parity ] vae mean %.2e logvar %.2e\n", mean_err, logvar_err);
    EXPECT_LE(mean_err, kParityTolerance);
    EXPECT_LE(logvar_err, kParityTolerance);
}

TEST(MMAudioVaeTest, DecodesMatchTheReference) {
    torch::NoGradGuard no_grad;
    auto vae = fixture_vae();
    const auto io = test::parity_file("vae_io.safetensors").tensors;
    const double mean_err = relative_max_error(vae->decode(io.at("out.mean")), io.at("out.decoded"));
    const double z_err = relative_max_error(vae->decode(io.at("in.z")), io.at("out.decoded_z"));
    std::printf("[ parity ] vae decode(mean) %.2e decode(z) %.2e\n", mean_err, z_err);
    EXPECT_LE(mean_err, kParityTolerance);
    EXPECT_LE(z_err, kParityTolerance);
}

TEST(MMAudioVaeTest, WithoutFoldingTheWeightNormTheOutputsDiffer) {
    // Loading the raw weights without remove_weight_norm must fail the comparison by far: the fold is
    // what the first two tests measure.
    torch::NoGradGuard no_grad;
    const auto weights = test::parity_file("vae_weights.safetensors");
    MMAudioVae vae(MMAudioVaeOptions::from_json(weights.metadata.at("config")));
    io::load_state_dict(*vae, weights.tensors, true, "vae_weights.safetensors");
    const auto io = test::parity_file("vae_io.safetensors").tensors;
    EXPECT_GT(relative_max_error(vae->decode(io.at("in.z")), io.at("out.decoded_z")), 0.1);
}

TEST(MMAudioVaeTest, ShapesOfThe16kPreset) {
    torch::NoGradGuard no_grad;
    MMAudioVae vae(MMAudioVaeOptions::preset("16k"));
    const auto mel = torch::randn({1, 80, 16});
    const auto p = vae->encode(mel);
    EXPECT_EQ(p.mean.sizes(), (std::vector<int64_t>{1, 20, 8}));
    EXPECT_EQ(vae->decode(p.mean).sizes(), mel.sizes());
}

TEST(MMAudioVaeTest, BadInputsAndConfigsAreNamed) {
    MMAudioVae vae(MMAudioVaeOptions{80, 20, 32});
    test::expect_error([&] { vae->encode(torch::zeros({1, 64, 16})); }, ErrorKind::Data, "log-mel");
    test::expect_error([&] { vae->encode(torch::zeros({1, 80, 15})); }, ErrorKind::Data, "even");
    test::expect_error([&] { vae->decode(torch::zeros({1, 8, 4})); }, ErrorKind::Data, "latent");
    test::expect_error([] { MMAudioVaeOptions::from_json(R"({"data_dim": 80, "layers": 3})"); }, ErrorKind::Config,
                       "layers");
    test::expect_error([] { MMAudioVaeOptions::preset("22k"); }, ErrorKind::Config, "22k");
    auto weights = test::parity_file("vae_weights.safetensors").tensors;
    weights.erase("decoder.conv_out.weight");
    test::expect_error([&] { vae->load_mmaudio_state_dict(weights, "cut.safetensors"); }, ErrorKind::Model,
                       "decoder.conv_out.weight");
}

}  // namespace
}  // namespace v2a::audio
