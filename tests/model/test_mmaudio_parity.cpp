// Parity with MMAudio's own networks.py (fixtures in tests/data/mmaudio_parity, made by the reference
// code on random weights): forward, the empty-condition and negative-text velocities, reproduced in fp32
// within 1e-4 relative max error. The sampler path (batched CFG through GeneratorVelocity + EulerSampler)
// is checked in tests/flow/test_generation_parity.cpp. Also: the architecture read off a state dict's
// shapes, for both layouts (v1 is the fixture; v2 is built here and read back).
#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/parity_fixture.h"
#include "v2a/model/mmaudio.h"

namespace v2a::model {
namespace {

using test::kParityTolerance;
using test::relative_max_error;

ShapeMap shapes_of(const io::TensorMap& tensors) {
    ShapeMap shapes;
    for (const auto& [k, t] : tensors) shapes[k] = t.sizes().vec();
    return shapes;
}

/// The fixture network built from its constructor arguments, weights loaded strictly by name.
MMAudio fixture_network() {
    const auto weights = test::parity_file("net_weights.safetensors");
    const auto arch = mmaudio_architecture_from_args(test::parity_config(weights));
    MMAudio net(arch.config);
    net->update_seq_lengths(arch.lengths.latent, arch.lengths.clip, arch.lengths.sync);
    net->load_state_dict(weights.tensors, /*strict=*/true, "net_weights.safetensors");
    net->eval();
    return net;
}

TEST(MMAudioParityTest, ForwardMatchesTheReference) {
    torch::NoGradGuard no_grad;
    auto net = fixture_network();
    const auto io = test::parity_file("net_io.safetensors").tensors;
    const auto v = net->forward(io.at("in.latent"), io.at("in.clip_f"), io.at("in.sync_f"), io.at("in.text_f"),
                                io.at("in.t"));
    const double err = relative_max_error(v, io.at("out.forward"));
    std::printf("[ parity ] out.forward %.2e\n", err);
    EXPECT_LE(err, kParityTolerance);
}

TEST(MMAudioParityTest, EmptyConditionVelocityMatchesTheReference) {
    torch::NoGradGuard no_grad;
    auto net = fixture_network();
    const auto io = test::parity_file("net_io.safetensors").tensors;
    const auto& latent = io.at("in.latent");
    const auto v = net->predict_flow(latent, io.at("in.t"), net->get_empty_conditions(latent.size(0)));
    const double err = relative_max_error(v, io.at("out.empty_flow"));
    std::printf("[ parity ] out.empty_flow %.2e\n", err);
    EXPECT_LE(err, kParityTolerance);
}

TEST(MMAudioParityTest, NegativeTextVelocityMatchesTheReference) {
    torch::NoGradGuard no_grad;
    auto net = fixture_network();
    const auto io = test::parity_file("net_io.safetensors").tensors;
    const auto& latent = io.at("in.latent");
    // MMAudio keeps the negative text batch of 1 and broadcasts it over the latent batch.
    const auto empty = net->get_empty_conditions(latent.size(0), io.at("in.neg_text_f"));
    const auto v = net->predict_flow(latent, io.at("in.t"), empty);
    const double err = relative_max_error(v, io.at("out.negtext_flow"));
    std::printf("[ parity ] out.negtext_flow %.2e\n", err);
    EXPECT_LE(err, kParityTolerance);
}

TEST(MMAudioParityTest, TheComparisonCanFail) {
    // The same forward with one weight nudged must miss the reference by far more than the tolerance,
    // so the tests above measure the network and not a constant.
    torch::NoGradGuard no_grad;
    auto net = fixture_network();
    net->named_parameters()["joint_blocks.0.latent_block.attn.qkv.weight"].mul_(1.1);
    const auto io = test::parity_file("net_io.safetensors").tensors;
    const auto v = net->forward(io.at("in.latent"), io.at("in.clip_f"), io.at("in.sync_f"), io.at("in.text_f"),
                                io.at("in.t"));
    EXPECT_GT(relative_max_error(v, io.at("out.forward")), 10 * kParityTolerance);
}

TEST(MMAudioParityTest, ArchitectureIsReadOffTheV1StateDict) {
    const auto weights = test::parity_file("net_weights.safetensors");
    const auto args = test::parity_config(weights);
    const auto c = infer_network_config(shapes_of(weights.tensors));
    EXPECT_FALSE(c.v2);
    EXPECT_EQ(c.latent_dim, args.at("latent_dim").get<int64_t>());
    EXPECT_EQ(c.clip_dim, args.at("clip_dim").get<int64_t>());
    EXPECT_EQ(c.sync_dim, args.at("sync_dim").get<int64_t>());
    EXPECT_EQ(c.text_dim, args.at("text_dim").get<int64_t>());
    EXPECT_EQ(c.hidden_dim, args.at("hidden_dim").get<int64_t>());
    EXPECT_EQ(c.depth, args.at("depth").get<int64_t>());
    EXPECT_EQ(c.fused_depth, args.at("fused_depth").get<int64_t>());
    EXPECT_EQ(c.num_heads, args.at("num_heads").get<int64_t>());
    EXPECT_EQ(c.text_seq_len, args.at("text_seq_len").get<int64_t>());
    EXPECT_DOUBLE_EQ(c.mlp_ratio, 4.0);
}

TEST(MMAudioParityTest, ArchitectureIsReadOffV1AndV2NetworksOfEveryPreset) {
    // Paper widths are covered by the key-list test in test_mmaudio.cpp; small networks keep this fast.
    auto wide_44k = NetworkConfig::bench();
    wide_44k.latent_dim = 40;
    wide_44k.num_heads = 2;
    wide_44k.fused_depth = 2;
    for (const auto& [name, base] : {std::pair{"tiny", NetworkConfig::tiny()}, std::pair{"bench", NetworkConfig::bench()},
                                     std::pair{"44k-like", wide_44k}}) {
        auto want = base;
        for (bool v2 : {false, true}) {
            want.v2 = v2;
            MMAudio net(want);
            ShapeMap shapes;
            for (const auto& [k, t] : net->state_dict()) shapes[k] = t.sizes().vec();
            const auto got = infer_network_config(shapes);
            SCOPED_TRACE(std::string(name) + (v2 ? " v2" : " v1"));
            EXPECT_DOUBLE_EQ(got.mlp_ratio, want.mlp_ratio);
            EXPECT_EQ(got.v2, v2);
            EXPECT_EQ(got.hidden_dim, want.hidden_dim);
            EXPECT_EQ(got.num_heads, want.num_heads);
            EXPECT_EQ(got.depth, want.depth);
            EXPECT_EQ(got.fused_depth, want.fused_depth);
            EXPECT_EQ(got.latent_dim, want.latent_dim);
            EXPECT_EQ(got.text_seq_len, want.text_seq_len);
            EXPECT_EQ(got.sample_rate, want.latent_dim == 40 ? 44100 : 16000);
        }
    }
}

TEST(MMAudioParityTest, ArchitectureErrorsNameTheKey) {
    const auto weights = test::parity_file("net_weights.safetensors");
    auto shapes = shapes_of(weights.tensors);
    auto no_proj = shapes;
    no_proj.erase("audio_input_proj.0.weight");
    test::expect_error([&] { infer_network_config(no_proj); }, ErrorKind::Model, "audio_input_proj.0.weight");
    auto both = shapes;
    both["clip_input_proj.2.w1.weight"] = {256, 64, 3};
    test::expect_error([&] { infer_network_config(both); }, ErrorKind::Model, "v1 from v2");
    test::expect_error([&] { mmaudio_architecture_from_args(nlohmann::json{{"depth", 3}, {"wings", 2}}); },
                       ErrorKind::Config, "wings");
    test::expect_error([&] { mmaudio_architecture_from_args(nlohmann::json{{"sync_seq_len", 44}}); },
                       ErrorKind::Config, "sync_seq_len");
}

}  // namespace
}  // namespace v2a::model
