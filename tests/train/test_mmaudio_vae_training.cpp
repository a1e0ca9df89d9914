// A converted MMAudio VAE behind every verb that takes --vae (issue 16, item 2): `train` builds a new
// network on its latents (latent width and statistics from the VAE's own encodings, since MMAudio keeps the
// statistics in its network), the loss falls, `dpo` trains from that network with it, and the generation
// pipeline decodes through it. A generator of another latent width is a named error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_error.h"
#include "support/parity_fixture.h"
#include "support/run_logs.h"
#include "support/tiny_pipeline.h"
#include "v2a/flow/mmaudio_convert.h"
#include "v2a/flow/pipeline.h"
#include "v2a/train/dpo_trainer.h"
#include "v2a/train/sft_trainer.h"

namespace v2a::train {
namespace {

TEST(MMAudioVaeTrainingTest, TrainDpoAndGenerateRunOnAConvertedMMAudioVae) {
    test::TinyPipeline tiny;
    const auto vae_path = tiny.dir / "mmaudio_vae.safetensors";
    flow::convert_mmaudio_checkpoint(test::parity_dir() / "mmaudio_vae.pth", vae_path);  // 80 mels -> 20 channels
    auto vae = audio::AnyVae::load(vae_path);
    ASSERT_TRUE(vae.is_mmaudio());
    EXPECT_FALSE(vae.latent_stats().has_value());

    SftOptions o;
    o.preset = "tiny";  // 8 latent channels: the new network takes the VAE's 20
    o.vae_path = vae_path;
    o.steps = 40;
    o.batch_size = 4;
    o.lr = 2e-3;
    o.warmup = 5;
    o.ema_decay = 0.0;
    o.log_every = 5;
    o.checkpoint_every = 1000;
    o.val_every = 1000;
    o.run_dir = tiny.dir / "sft";
    const auto sft = train_generator(*tiny.clips, *tiny.clips, o);
    auto generator = flow::load_generator(sft.model_path);
    EXPECT_EQ(generator->config().network.latent_dim, 20);

    // Its latent statistics are the per-channel mean and std of the training latents' posterior means.
    const auto set = make_latent_set(vae, *tiny.clips);  // mean [B, N, C]
    const auto flat = set.mean.reshape({-1, 20});
    const auto unit = generator->net->normalize(flat.mean(0).view({1, 1, 20}) + flat.std(0).view({1, 1, 20}));
    EXPECT_TRUE(torch::allclose(unit, torch::ones_like(unit), 1e-4, 1e-4)) << unit;

    const auto logs = test::train_records(o.run_dir);
    ASSERT_GE(logs.size(), 4u);
    EXPECT_LT(logs.back()["loss"].get<double>(), 0.8 * logs.front()["loss"].get<double>());

    DpoOptions d;
    d.init = sft.model_path;
    d.vae_path = vae_path;
    d.source = DpoPairSource::SyncDpo;
    d.steps = 4;
    d.batch_size = 4;
    d.lr = 1e-3;
    d.warmup = 0;
    d.log_every = 1;
    d.checkpoint_every = 100;
    d.val_every = 0;
    d.run_dir = tiny.dir / "dpo";
    const auto dpo = train_dpo(nullptr, *tiny.clips, *tiny.clips, d);
    EXPECT_GT(test::weights_moved(sft.model_path, dpo.model_path, "net."), 0.0);
    const auto dlogs = test::train_records(d.run_dir);
    ASSERT_EQ(dlogs.size(), 4u);
    EXPECT_TRUE(std::isfinite(dlogs.back()["dpo_loss"].get<double>()));

    auto pipeline = flow::Pipeline::load(dpo.model_path, vae_path);
    flow::GenerateOptions g;
    g.sampler.steps = 3;
    const auto wav = pipeline.generate(tiny.clips->frames({0}), tiny.clips->captions({0}), g);
    ASSERT_EQ(wav.dim(), 2);
    EXPECT_NEAR(double(wav.size(1)), test::TinyPipeline::kSeconds * 16000, 512);
    EXPECT_TRUE(torch::isfinite(wav).all().item<bool>());
    // The ground truth's round trip (what pairs and --reconstruct use) goes through the same VAE.
    const auto z = pipeline.audio_to_latents(tiny.clips->audio({0}));
    EXPECT_EQ(z.sizes(), (std::vector<int64_t>{1, generator->net->latent_seq_len(), 20}));

    // The tiny generator has 8 latent channels: not this VAE's.
    test::expect_error([&] { flow::Pipeline::load(tiny.generator, vae_path); }, ErrorKind::Config,
                       "MMAudio VAE has 20 latent channels");
}

}  // namespace
}  // namespace v2a::train
