#include <gtest/gtest.h>
#include <torch/torch.h>

#include "v2a/audio/vae.h"
#include "v2a/core/error.h"

namespace v2a::audio {
namespace {

TEST(VaeTest, ShapesFollowTwoXDownsampling) {
    torch::manual_seed(0);
    MelVae vae(VaeOptions::preset("tiny"));
    auto mel = torch::randn({2, 80, 250}) - 2.0;
    auto posterior = vae->encode(mel);
    EXPECT_EQ(posterior.mean.sizes(), (std::vector<int64_t>{2, 20, 125}));
    EXPECT_EQ(posterior.std.sizes(), posterior.mean.sizes());
    EXPECT_GT(posterior.std.min().item<float>(), 0.0f);
    EXPECT_EQ(vae->decode(posterior.mean).sizes(), mel.sizes());
}

TEST(VaeTest, KlMatchesClosedForm) {
    // mean 1, std 2 everywhere: KL = 0.5 (mu^2 + s^2 - 1 - ln s^2) = 0.5 (1 + 4 - 1 - ln 4)
    VaePosterior p{torch::ones({1, 2, 3}), torch::full({1, 2, 3}, 2.0)};
    EXPECT_NEAR(p.kl().item<double>(), 0.5 * (4.0 - std::log(4.0)), 1e-6);
    VaePosterior standard{torch::zeros({1, 2, 3}), torch::ones({1, 2, 3})};
    EXPECT_NEAR(standard.kl().item<double>(), 0.0, 1e-7);
}

TEST(VaeTest, LatentNormalisationRoundTrips) {
    MelVae vae(VaeOptions::preset("tiny"));
    vae->set_latent_stats(torch::linspace(-1, 1, 20), torch::linspace(0.5, 2, 20));
    auto z = torch::randn({2, 20, 7});
    EXPECT_TRUE(torch::allclose(vae->unnormalize_latent(vae->normalize_latent(z)), z, 1e-5, 1e-5));
    auto n = vae->normalize_latent(torch::linspace(-1, 1, 20).view({1, 20, 1}).expand({1, 20, 3}));
    EXPECT_NEAR(n.abs().max().item<float>(), 0.0f, 1e-6);
}

TEST(VaeTest, LearnsToReconstructTinyData) {
    torch::manual_seed(1);
    MelVae vae(VaeOptions::preset("tiny"));
    // Structured "mels": a few moving bands, the kind of content the benchmark produces.
    auto t = torch::arange(32).to(torch::kFloat32);
    auto bins = torch::arange(80).to(torch::kFloat32).view({80, 1});
    std::vector<torch::Tensor> items;
    for (int i = 0; i < 8; ++i) {
        auto centre = 10.0 + 7.0 * i + 0.3 * t;
        items.push_back(-4.0 + 3.0 * torch::exp(-(bins - centre).pow(2) / 8.0));
    }
    auto mel = torch::stack(items);  // [8, 80, 32]
    vae->set_mel_stats(mel.mean(std::vector<int64_t>{0, 2}), mel.std(2).mean(0) + 0.1);
    torch::optim::Adam opt(vae->parameters(), 3e-3);
    auto gen = at::detail::createCPUGenerator(3);
    double first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
        auto losses = vae->loss(mel, gen);
        opt.zero_grad();
        losses.total.backward();
        opt.step();
        if (step == 0) first = losses.reconstruction.item<double>();
        last = losses.reconstruction.item<double>();
    }
    EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

TEST(VaeTest, BadInputAndConfigAreErrors) {
    MelVae vae(VaeOptions::preset("tiny"));
    EXPECT_THROW(vae->encode(torch::zeros({1, 64, 10})), Error);   // wrong mel bins
    EXPECT_THROW(vae->encode(torch::zeros({1, 80, 11})), Error);   // odd frames with 2x downsampling
    EXPECT_THROW(vae->decode(torch::zeros({1, 19, 10})), Error);
    EXPECT_THROW(VaeOptions::preset("huge"), Error);
    VaeOptions bad;
    bad.downsample = 3;
    EXPECT_THROW(bad.validate(), Error);
    EXPECT_THROW(VaeOptions::from_json("{\"n_mels\": 80}"), Error);
    auto round = VaeOptions::from_json(VaeOptions::preset("bench").to_json());
    EXPECT_EQ(round.hidden, 128);
    EXPECT_EQ(round.latent_dim, 20);
}

}  // namespace
}  // namespace v2a::audio
