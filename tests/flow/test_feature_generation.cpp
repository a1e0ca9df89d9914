// generate --features: MMAudio's per-clip features through a converted MMAudio network. The duration
// comes from the clip stream, the samples are reproducible from the seed, either VAE kind decodes, and
// every malformed feature file is named.
#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/parity_fixture.h"
#include "support/temp_dir.h"
#include "v2a/flow/feature_generation.h"
#include "v2a/flow/mmaudio_convert.h"

namespace v2a::flow {
namespace {

struct Converted {
    test::TempDir dir;
    V2AGenerator generator{nullptr};
    Converted() {
        convert_mmaudio_checkpoint(test::parity_dir() / "mmaudio_net.pth", dir.path() / "net.safetensors");
        generator = load_generator(dir.path() / "net.safetensors");
    }
    /// A features file for `seconds` (fixture widths: clip 32, sync 24, text 16 x 12 tokens).
    std::filesystem::path features(double seconds, const std::string& name, int64_t sync_tokens = -1,
                                   int64_t clip_width = 32) {
        torch::manual_seed(7);
        if (sync_tokens < 0) sync_tokens = generator->config().network.sequence_lengths(seconds).sync;
        io::TensorMap t{{"clip_features", torch::randn({int64_t(seconds * 8), clip_width})},
                        {"sync_features", torch::randn({1, sync_tokens, 24})},
                        {"text_features", torch::randn({12, 16})}};
        const auto path = dir.path() / name;
        io::save_safetensors(path, t);
        return path;
    }
};

GenerateOptions options(uint64_t seed) {
    GenerateOptions o;
    o.sampler.steps = 3;
    o.seed = seed;
    return o;
}

TEST(FeatureGenerationTest, DurationComesFromTheFeaturesAndSamplesAreSeeded) {
    Converted c;
    auto clip2 = read_feature_clip(c.features(2.0, "a.safetensors"), c.generator);
    EXPECT_DOUBLE_EQ(clip2.duration, 2.0);
    const auto a = sample_from_features(c.generator, clip2, options(1));
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{1, 63, 8}));  // ceil(2 s * 16000 / 256 / 2)
    EXPECT_TRUE(torch::equal(a, sample_from_features(c.generator, clip2, options(1))));
    EXPECT_FALSE(torch::allclose(a, sample_from_features(c.generator, clip2, options(2))));
    auto clip3 = read_feature_clip(c.features(3.0, "b.safetensors"), c.generator);
    EXPECT_EQ(sample_from_features(c.generator, clip3, options(1)).size(1), 94);
}

TEST(FeatureGenerationTest, EitherVaeKindDecodes) {
    test::TempDir dir;
    convert_mmaudio_checkpoint(test::parity_dir() / "mmaudio_vae.pth", dir.path() / "vae.safetensors");
    int64_t n_mels = 0;
    auto decode = load_vae_decoder(dir.path() / "vae.safetensors", &n_mels);
    EXPECT_EQ(n_mels, 80);
    const auto io = test::parity_file("vae_io.safetensors").tensors;
    EXPECT_LE(test::relative_max_error(decode(io.at("in.z")), io.at("out.decoded_z")), test::kParityTolerance);
    test::expect_error([&] { load_vae_decoder(test::parity_dir() / "net_io.safetensors"); }, ErrorKind::Data,
                       "net_io.safetensors");
}

TEST(FeatureGenerationTest, MalformedFeatureFilesAreNamed) {
    Converted c;
    test::expect_error([&] { read_feature_clip(c.features(2.0, "w.safetensors", -1, 30), c.generator); },
                       ErrorKind::Data, "clip_features");
    test::expect_error([&] { read_feature_clip(c.features(2.0, "s.safetensors", 48), c.generator); }, ErrorKind::Data,
                       "sync_features has 48 tokens");
    test::expect_error([&] { read_feature_clip(c.features(0.5, "short.safetensors", 8), c.generator); }, ErrorKind::Data,
                       "short.safetensors");
    io::save_safetensors(c.dir.path() / "m.safetensors", {{"clip_features", torch::zeros({16, 32})}});
    test::expect_error([&] { read_feature_clip(c.dir.path() / "m.safetensors", c.generator); }, ErrorKind::Data,
                       "sync_features");
    V2AGenerator trained(GeneratorConfig::preset("tiny", 2.0, 32));
    auto clip = read_feature_clip(c.features(2.0, "ok.safetensors"), c.generator);
    test::expect_error([&] { sample_from_features(trained, clip, options(1)); }, ErrorKind::Usage, "precomputed");
}

}  // namespace
}  // namespace v2a::flow
