#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/flow/generator.h"
#include "v2a/flow/velocity.h"

namespace v2a::flow {
namespace {

// tiny: 2 s clips at 32x32 frames, latent_dim 8 -> 63 latent tokens.
V2AGenerator tiny_generator() {
    torch::manual_seed(0);
    V2AGenerator g(GeneratorConfig::preset("tiny", 2.0, 32));
    g->net->set_latent_stats(torch::zeros({8}), torch::ones({8}));
    return g;
}

torch::Tensor frames(int64_t batch, uint64_t seed) {
    auto gen = cpu_generator(seed);
    return torch::randint(0, 255, {batch, 50, 32, 32, 3}, gen, torch::kInt64).to(torch::kUInt8);
}

TEST(GeneratorTest, EncodeShapesAndTextToAudioFallback) {
    auto g = tiny_generator();
    auto f = g->encode(frames(2, 1), {"a piano", ""});
    EXPECT_EQ(f.clip_f.sizes(), (std::vector<int64_t>{2, 16, 32}));   // 8 fps x 2 s
    EXPECT_EQ(f.sync_f.sizes(), (std::vector<int64_t>{2, 40, 24}));   // ((50-16)/8+1) * 8
    EXPECT_EQ(f.text_f.sizes(), (std::vector<int64_t>{2, 5, 16}));
    auto t2a = g->encode({}, {"a piano"});
    EXPECT_TRUE(torch::equal(t2a.clip_f, g->net->get_empty_clip_sequence(1)));
    EXPECT_THROW(g->encode(frames(2, 1), {"only one caption"}), Error);
    EXPECT_THROW(g->encode(frames(1, 1).narrow(1, 0, 20), {"short"}), Error);  // fewer frames than 2 s
}

TEST(GeneratorTest, SameSeedSameSampleAndCfgChangesIt) {
    auto g = tiny_generator();
    torch::NoGradGuard no_grad;
    // adaLN-Zero makes a fresh network output zero: perturb it so sampling does something.
    for (auto& p : g->net->parameters()) p.add_(0.05 * torch::randn(p.sizes()));
    auto f = g->encode(frames(2, 3), {"a drum", "bells"});
    EulerSamplerOptions o;
    o.steps = 4;
    auto r1 = cpu_generator(7), r2 = cpu_generator(7), r3 = cpu_generator(8);
    auto a = g->sample(f, o, r1), b = g->sample(f, o, r2), c = g->sample(f, o, r3);
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 63, 8}));
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_FALSE(torch::equal(a, c));
    EulerSamplerOptions no_cfg = o;
    no_cfg.cfg_strength = 1.0;
    auto r4 = cpu_generator(7);
    EXPECT_FALSE(torch::allclose(a, g->sample(f, no_cfg, r4)));
}

TEST(GeneratorTest, FlowLossFallsOnATinyDataset) {
    auto g = tiny_generator();
    g->train();
    // Four clips whose latents depend on their frames: learnable through the conditions.
    auto video = frames(4, 5);
    auto x1 = torch::randn({4, 63, 8}, cpu_generator(9));
    std::vector<std::string> captions{"a", "b", "c", "d"};
    torch::optim::AdamW opt(g->parameters(), torch::optim::AdamWOptions(2e-3));
    auto rng = cpu_generator(11);
    double first = 0, last = 0;
    for (int step = 0; step < 120; ++step) {
        auto loss = g->flow_loss(x1, g->encode(video, captions), rng).mean();
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step < 5) first += loss.item<double>() / 5;
        if (step >= 115) last += loss.item<double>() / 5;
    }
    EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

TEST(GeneratorTest, SaveLoadRoundTripGivesIdenticalVelocities) {
    test::TempDir dir;
    auto g = tiny_generator();
    {
        torch::NoGradGuard no_grad;
        for (auto& p : g->parameters()) p.add_(0.01 * torch::randn(p.sizes()));
    }
    save_generator(dir / "g.safetensors", g);
    auto h = load_generator(dir / "g.safetensors");
    g->eval();
    torch::NoGradGuard no_grad;
    auto f = g->encode(frames(1, 2), {"x"});
    auto fh = h->encode(frames(1, 2), {"x"});
    auto x = torch::randn({1, 63, 8}), t = torch::full({1}, 0.3);
    EXPECT_TRUE(torch::equal(g->velocity(x, t, f), h->velocity(x, t, fh)));
    EXPECT_THROW(load_generator(dir / "missing.safetensors"), Error);
}

TEST(GeneratorTest, ConfigJsonRoundTripAndValidation) {
    auto c = GeneratorConfig::preset("bench", 4.0, 64);
    auto back = GeneratorConfig::from_json(c.to_json());
    EXPECT_EQ(back.network.hidden_dim, 256);
    EXPECT_EQ(back.frame_size, 64);
    EXPECT_THROW(GeneratorConfig::preset("bench", 0.5, 64), Error);
    EXPECT_THROW(GeneratorConfig::from_json("{\"network\": 3}"), Error);
}

}  // namespace
}  // namespace v2a::flow
