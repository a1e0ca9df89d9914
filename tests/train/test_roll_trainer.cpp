// Chain-of-Perform's Roll Predictor on a tiny piano benchmark: the windows are the frames around each
// frame, the network learns which keys are held (frame-level F1 rises well above the untrained model's),
// the exported model loads and scores as trained, and bad data is named.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "support/expect_error.h"
#include "support/temp_dir.h"
#include "v2a/core/fs.h"
#include "v2a/synth/piano.h"
#include "v2a/train/roll_trainer.h"

namespace v2a::train {
namespace {

struct TinyPiano {
    test::TempDir dir;
    std::filesystem::path manifest;
    TinyPiano() {
        synth::PianoDatasetOptions o;
        o.out = dir / "piano";
        o.n_train = 6;
        o.n_val = 2;
        o.n_test = 0;
        o.config.seconds = 2.0;
        o.video.white_key_px = 2;   // 112 x 32 frames: small and fast
        o.video.view_height = 16;
        o.workers = 1;
        synth::write_piano_dataset(o);
        manifest = o.out / "manifest.csv";
    }
};

TEST(RollPredictorTest, WindowsAreTheFramesAroundEachFrameClampedAtTheEnds) {
    auto frames = torch::zeros({4, 2, 3, 3}, torch::kUInt8);
    for (int t = 0; t < 4; ++t) frames[t].fill_(uint8_t(51 * t));  // gray = 51 t / 255 - 0.5
    const auto w = model::roll_predictor_windows(frames, 5);
    ASSERT_EQ(w.sizes(), (torch::IntArrayRef{4, 5, 2, 3}));
    auto level = [&](int t, int j) { return w[t][j][0][0].item<float>(); };
    EXPECT_NEAR(level(0, 0), -0.5, 1e-6);              // frame -2 -> 0
    EXPECT_NEAR(level(1, 4), 51 * 3 / 255.0 - 0.5, 1e-6);  // frame 3
    EXPECT_NEAR(level(3, 4), 51 * 3 / 255.0 - 0.5, 1e-6);  // frame 5 -> 3
    EXPECT_NEAR(level(2, 2), 51 * 2 / 255.0 - 0.5, 1e-6);  // the middle is the frame itself
    model::RollPredictorOptions o;
    o.in_frames = 4;
    v2a::test::expect_error([&] { model::RollPredictor net(o); }, ErrorKind::Config, "odd");
}

TEST(RollPredictorTest, LearnsWhichKeysAreHeldOnATinyPianoBenchmark) {
    TinyPiano data;
    const auto manifest = io::read_manifest(data.manifest);
    const auto train_clips = load_piano_frames(manifest, io::Split::Train);
    ASSERT_EQ(train_clips.ids.size(), 6u);
    EXPECT_EQ(train_clips.width, 112);
    RollTrainOptions o;
    o.manifest = data.manifest;
    o.run_dir = data.dir / "roll";
    o.model.channels = 8;
    o.steps = 400;
    o.loss = "bce";  // 3-4 of 88 keys held: BCE learns the positions faster than MSE on sigmoids (both tested by hand)
    o.batch_size = 16;
    o.lr = 3e-3;
    o.warmup = 10;
    o.val_every = 0;
    o.checkpoint_every = 0;
    o.log_every = 50;
    model::RollPredictorOptions mo = o.model;
    mo.height = train_clips.height;
    mo.width = train_clips.width;
    torch::manual_seed(0);
    model::RollPredictor untrained(mo);
    const double before = evaluate_roll_predictor(untrained, train_clips).mir_eval.f1;
    const auto r = train_roll_predictor(o);
    auto net = load_roll_predictor(r.model_path);
    const auto after = evaluate_roll_predictor(net, train_clips);
    EXPECT_GT(after.mir_eval.f1, before + 0.3) << before << " -> " << after.mir_eval.f1;
    EXPECT_GT(after.mir_eval.f1, 0.5);
    const auto again = evaluate_roll_predictor(net, load_piano_frames(manifest, io::Split::Val));
    EXPECT_DOUBLE_EQ(again.audeo.f1, r.val.audeo.f1);  // the exported model is the one validated
    const auto result = nlohmann::json::parse(fs::read_text(o.run_dir / "result.json"));
    EXPECT_EQ(result["val_clips"], 2);
}

TEST(RollPredictorTest, BadOptionsAndClipsWithoutRollsAreNamed) {
    TinyPiano data;
    RollTrainOptions o;
    o.manifest = data.manifest;
    o.run_dir = data.dir / "bad";
    o.loss = "l1";
    v2a::test::expect_error([&] { train_roll_predictor(o); }, ErrorKind::Usage, "--loss");
    std::filesystem::remove(data.dir / "piano" / "clips" / "piano_val_00001.roll.safetensors");
    v2a::test::expect_error([&] { load_piano_frames(io::read_manifest(data.manifest), io::Split::Val); }, ErrorKind::Data,
                            "'piano_val_00001' has no piano roll");
}

}  // namespace
}  // namespace v2a::train
