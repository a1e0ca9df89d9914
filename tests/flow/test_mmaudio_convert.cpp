// v2a convert on MMAudio's own torch.save files: the converted network loads with load_generator and
// still reproduces MMAudio's forward; the converted VAE loads with load_mmaudio_vae and reproduces its
// decode; wrappers and dtypes are handled; what cannot be mapped is refused by name.
#include <gtest/gtest.h>

#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>

#include "support/expect_error.h"
#include "support/parity_fixture.h"
#include "support/temp_dir.h"
#include "v2a/audio/mmaudio_vae.h"
#include "v2a/flow/generator.h"
#include "v2a/flow/mmaudio_convert.h"
#include "v2a/io/pth.h"

namespace v2a::flow {
namespace {

using test::kParityTolerance;
using test::relative_max_error;

double converted_forward_error(const std::filesystem::path& file) {
    torch::NoGradGuard no_grad;
    auto generator = load_generator(file);
    const auto args = test::parity_config(test::parity_file("net_weights.safetensors"));
    const auto arch = model::mmaudio_architecture_from_args(args);
    generator->net->update_seq_lengths(arch.lengths.latent, arch.lengths.clip, arch.lengths.sync);
    const auto io = test::parity_file("net_io.safetensors").tensors;
    const auto v = generator->net->forward(io.at("in.latent"), io.at("in.clip_f"), io.at("in.sync_f"),
                                           io.at("in.text_f"), io.at("in.t"));
    return relative_max_error(v, io.at("out.forward"));
}

TEST(MMAudioConvertTest, NetworkPthBecomesAGeneratorThatMatchesMMAudio) {
    test::TempDir dir;
    const auto report = convert_mmaudio_checkpoint(test::parity_dir() / "mmaudio_net.pth", dir.path() / "net.safetensors");
    EXPECT_EQ(report.kind, CheckpointKind::Network);
    EXPECT_EQ(report.tensors, 108u);
    EXPECT_LE(converted_forward_error(dir.path() / "net.safetensors"), kParityTolerance);
    const auto config = GeneratorConfig::from_json(report.config);
    EXPECT_EQ(config.conditioner.text_mode, model::StreamMode::Precomputed);
    EXPECT_EQ(config.network.hidden_dim, 64);
}

TEST(MMAudioConvertTest, VaePthBecomesAnMMAudioVaeThatMatchesMMAudio) {
    test::TempDir dir;
    const auto report = convert_mmaudio_checkpoint(test::parity_dir() / "mmaudio_vae.pth", dir.path() / "vae.safetensors");
    EXPECT_EQ(report.kind, CheckpointKind::Vae);
    torch::NoGradGuard no_grad;
    auto vae = audio::load_mmaudio_vae(dir.path() / "vae.safetensors");
    const auto io = test::parity_file("vae_io.safetensors").tensors;
    EXPECT_LE(relative_max_error(vae->decode(io.at("in.z")), io.at("out.decoded_z")), kParityTolerance);
    EXPECT_LE(relative_max_error(vae->encode(io.at("in.mel")).mean, io.at("out.mean")), kParityTolerance);
}

TEST(MMAudioConvertTest, WrappedHalfPrecisionCheckpointsConvert) {
    // A training checkpoint: {"it": N, "weights": {"module.<key>": bf16 tensor}}; the result is fp32
    // and equals the bf16-rounded weights, so the forward is close to (not equal to) the reference.
    test::TempDir dir;
    const auto weights = test::parity_file("net_weights.safetensors").tensors;
    c10::impl::GenericDict inner(c10::StringType::get(), c10::AnyType::get());
    for (const auto& [k, t] : weights) inner.insert("module." + k, t.to(torch::kBFloat16));
    c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
    top.insert("it", int64_t(5));
    top.insert("weights", inner);
    const auto bytes = torch::jit::pickle_save(top);
    std::ofstream(dir.path() / "train.pth", std::ios::binary).write(bytes.data(), bytes.size());

    const auto report = convert_mmaudio_checkpoint(dir.path() / "train.pth", dir.path() / "net.safetensors");
    EXPECT_EQ(report.wrapper, "weights.module");
    EXPECT_FALSE(report.converted_dtypes.empty());
    const auto written = io::load_safetensors(dir.path() / "net.safetensors").tensors;
    EXPECT_EQ(written.at("net.final_layer.conv.weight").scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(written.at("net.final_layer.conv.weight"),
                             weights.at("final_layer.conv.weight").to(torch::kBFloat16).to(torch::kFloat)));
    const double err = converted_forward_error(dir.path() / "net.safetensors");
    EXPECT_GT(err, 0.0);
    EXPECT_LT(err, 0.1);
}

TEST(MMAudioConvertTest, WhatCannotBeMappedIsRefusedByName) {
    test::TempDir dir;
    auto tensors = test::parity_file("net_weights.safetensors").tensors;
    tensors.erase("final_layer.conv.bias");
    tensors["extra_head.weight"] = torch::zeros({2});
    io::save_safetensors(dir.path() / "cut.safetensors", tensors);
    test::expect_error([&] { convert_mmaudio_checkpoint(dir.path() / "cut.safetensors", dir.path() / "o.safetensors"); },
                       ErrorKind::Model, "final_layer.conv.bias");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "o.safetensors"));

    io::save_safetensors(dir.path() / "other.safetensors", {{"classifier.weight", torch::zeros({2, 2})}});
    test::expect_error([&] { convert_mmaudio_checkpoint(dir.path() / "other.safetensors", dir.path() / "o.safetensors"); },
                       ErrorKind::Data, "classifier.weight");
    ConvertOptions vae;
    vae.kind = CheckpointKind::Vae;
    test::expect_error([&] { convert_mmaudio_checkpoint(test::parity_dir() / "mmaudio_net.pth",
                                                        dir.path() / "o.safetensors", vae); },
                       ErrorKind::Model, "encoder.conv_in.weight");
    test::expect_error([] { checkpoint_kind_from_string("vocoder"); }, ErrorKind::Usage, "vocoder");
}

}  // namespace
}  // namespace v2a::flow
