// generate --features: MMAudio's per-clip features through a converted MMAudio network. The duration
// comes from the clip stream, the samples are reproducible from the seed, either VAE kind decodes, and
// every malformed feature file is named.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>

#include "support/expect_error.h"
#include "support/parity_fixture.h"
#include "support/temp_dir.h"
#include "v2a/flow/feature_generation.h"
#include "v2a/core/fs.h"
#include "v2a/audio/any_vae.h"
#include "v2a/flow/mmaudio_convert.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/media.h"

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
    auto vae = audio::AnyVae::load(dir.path() / "vae.safetensors");
    EXPECT_TRUE(vae.is_mmaudio());
    EXPECT_EQ(vae.n_mels(), 80);
    torch::NoGradGuard no_grad;
    const auto io = test::parity_file("vae_io.safetensors").tensors;
    EXPECT_LE(test::relative_max_error(vae.decode(io.at("in.z")), io.at("out.decoded_z")), test::kParityTolerance);
    test::expect_error([&] { audio::AnyVae::load(test::parity_dir() / "net_io.safetensors"); }, ErrorKind::Data,
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

TEST(FeatureGenerationTest, ManifestFeaturesColumnBecomesOneJobPerClip) {
    test::TempDir dir;
    const auto m = io::parse_manifest("id,video,caption,label,split,features\n"
                                      "a,a.mp4,,l,test,f/a.safetensors\n"
                                      "t,t.mp4,,l,train,\n"
                                      "b,b.mp4,,l,test,f/b.safetensors\n",
                                      dir.path(), "m.csv");  // in memory: errors say "manifest"
    const auto jobs = feature_jobs(m, io::Split::Test, "out", 42);
    ASSERT_EQ(jobs.size(), 2u);
    EXPECT_EQ(jobs[1].id, "b");
    EXPECT_EQ(jobs[1].features, dir.path() / "f/b.safetensors");
    EXPECT_EQ(jobs[1].out, std::filesystem::path("out/b.wav"));
    EXPECT_EQ(jobs[0].seed, 42u);
    EXPECT_EQ(jobs[1].seed, 43u);
    test::expect_error([&] { feature_jobs(m, io::Split::Train, "out", 42); }, ErrorKind::Data, "manifest:3: clip 't'");
    EXPECT_TRUE(takes_precomputed_features(Converted().generator->config()));
    EXPECT_FALSE(takes_precomputed_features(GeneratorConfig::preset("tiny", 2.0, 32)));
}

int run_cli(const std::string& args, const std::filesystem::path& log) {
    const std::string cmd = std::string(V2A_CLI) + " --threads 1 --log-level warn " + args + " > '" + log.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The CLI: `generate --manifest` with a converted network reads the features column; clip 0 of the split
// is exactly what `generate --features` makes from the same seed, clip 1 has its own noise.
TEST(FeatureGenerationTest, GenerateReadsAManifestsFeaturesColumn) {
    Converted c;
    test::TempDir vae_dir;
    // The fixture network has 8 latent channels: our VAE at that width (the MMAudio one has 20: refused).
    const auto vae = vae_dir / "vae.safetensors", mmaudio_vae = vae_dir / "mmaudio_vae.safetensors";
    auto vo = audio::VaeOptions::preset("tiny");
    vo.latent_dim = 8;
    io::save_checkpoint(vae, *audio::MelVae(vo), vo.to_json(), {{"kind", "mel_vae"}});
    convert_mmaudio_checkpoint(test::parity_dir() / "mmaudio_vae.pth", mmaudio_vae);
    const auto fa = c.features(2.0, "a.safetensors"), fb = c.features(2.0, "b.safetensors");
    fs::write_atomic(c.dir / "m.csv", std::string("id,video,caption,label,split,features\n"
                                           "a,a.mp4,,l,test,a.safetensors\nb,b.mp4,,l,test,b.safetensors\n"
                                           "c,c.mp4,,l,val,\n"));
    const std::string common = "generate --model '" + (c.dir / "net.safetensors").string() + "' --vae '" + vae.string() +
                               "' --steps 2 --vocoder-iterations 2 ";
    ASSERT_EQ(run_cli(common + "--manifest '" + (c.dir / "m.csv").string() + "' --out-dir '" + (c.dir / "out").string() + "'",
                      c.dir / "m.log"), 0) << fs::read_text(c.dir / "m.log");
    ASSERT_EQ(run_cli(common + "--features '" + fa.string() + "' --seed 42 --out '" + (c.dir / "one.wav").string() + "'",
                      c.dir / "f.log"), 0) << fs::read_text(c.dir / "f.log");
    const auto a = io::read_audio_file(c.dir / "out" / "a.wav"), b = io::read_audio_file(c.dir / "out" / "b.wav");
    EXPECT_EQ(a.samples, io::read_audio_file(c.dir / "one.wav").samples);
    EXPECT_NE(a.samples, b.samples);  // same features but seed 43
    (void)fb;
    // The val clip has no features file: a data error (exit 4) naming the manifest line.
    EXPECT_EQ(run_cli(common + "--manifest '" + (c.dir / "m.csv").string() + "' --split val --out-dir '" +
                          (c.dir / "val").string() + "'", c.dir / "v.log"), 4);
    EXPECT_NE(fs::read_text(c.dir / "v.log").find("m.csv:4: clip 'c' has no features file"), std::string::npos)
        << fs::read_text(c.dir / "v.log");
    // A VAE of another latent width: a config error (exit 5) with both numbers.
    EXPECT_EQ(run_cli("generate --model '" + (c.dir / "net.safetensors").string() + "' --vae '" + mmaudio_vae.string() +
                          "' --features '" + fa.string() + "' --out '" + (c.dir / "x.wav").string() + "'",
                      c.dir / "x.log"), 5);
    EXPECT_NE(fs::read_text(c.dir / "x.log").find("has 20 latent channels, the generator 8"), std::string::npos)
        << fs::read_text(c.dir / "x.log");
}

}  // namespace
}  // namespace v2a::flow
