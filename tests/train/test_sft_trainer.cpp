// `v2a train` on a tiny generator (the loss falling is GeneratorTest.FlowLossFallsOnATinyDataset):
// an interrupted and resumed run ends with the same weights, and the video-unconditional baseline
// (--no-video) really ignores the video: its encoders receive no update and its held-out loss does
// not depend on the frames.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/tiny_pipeline.h"
#include <nlohmann/json.hpp>

#include "v2a/core/jsonl.h"
#include "v2a/flow/generator.h"
#include "v2a/io/checkpoint.h"
#include "v2a/train/sft_trainer.h"

namespace v2a::train {
namespace {

SftOptions tiny_options(const test::TinyPipeline& tiny, const std::string& run) {
    SftOptions o;
    o.preset = "tiny";
    o.vae_path = tiny.vae;
    o.steps = 30;
    o.batch_size = 4;
    o.lr = 2e-3;
    o.warmup = 5;
    o.ema_decay = 0.0;
    o.checkpoint_every = 1000;
    o.val_every = 1000;
    o.run_dir = tiny.dir / run;
    return o;
}

TEST(SftTrainerTest, InterruptedAndResumedEqualsUninterrupted) {
    test::TinyPipeline tiny;
    auto o = tiny_options(tiny, "straight");
    o.steps = 10;
    o.ema_decay = 0.9;  // the EMA, optimizer, RNG and data position must all come back
    o.checkpoint_every = 4;
    const auto straight = io::state_dict(*flow::load_generator(train_generator(*tiny.clips, *tiny.clips, o).model_path));

    o.run_dir = tiny.dir / "resumed";
    o.stop_after = 4;  // "killed" right after the step-4 checkpoint
    train_generator(*tiny.clips, *tiny.clips, o);
    o.stop_after = -1;
    o.resume = true;
    const auto resumed = io::state_dict(*flow::load_generator(train_generator(*tiny.clips, *tiny.clips, o).model_path));
    ASSERT_EQ(straight.size(), resumed.size());
    for (const auto& [name, value] : straight) {
        EXPECT_TRUE(torch::equal(value, resumed.at(name))) << name << " differs after resume";
    }
}

TEST(SftTrainerTest, NoVideoBaselineNeverUsesTheVideo) {
    test::TinyPipeline tiny;
    auto o = tiny_options(tiny, "novideo");
    o.video_condition = false;
    auto result = train_generator(*tiny.clips, *tiny.clips, o);

    // Same seed as the run's initialisation: a fresh tiny generator has the weights it started from.
    torch::manual_seed(o.seed);
    flow::V2AGenerator init(flow::GeneratorConfig::preset("tiny", test::TinyPipeline::kSeconds, 32));
    auto trained = flow::load_generator(result.model_path);
    const auto before = io::state_dict(*init), after = io::state_dict(*trained);
    int64_t video_tensors = 0, text_changed = 0;
    for (const auto& [name, value] : before) {
        const bool video_encoder = name.rfind("cond.semantic.", 0) == 0 || name.rfind("cond.sync.", 0) == 0;
        if (video_encoder) {
            ++video_tensors;
            EXPECT_TRUE(torch::equal(value, after.at(name))) << name << " changed without the video condition";
        } else if (name.rfind("cond.text.", 0) == 0 && !torch::equal(value, after.at(name))) {
            ++text_changed;
        }
    }
    EXPECT_GT(video_tensors, 0) << "no video-encoder tensors found: the names changed";
    EXPECT_GT(text_changed, 0) << "the text encoder should still learn";

    // Held-out loss without video is the same whatever the frames are.
    auto vae = audio::AnyVae::load(tiny.vae);
    auto set = make_latent_set(vae, *tiny.clips);
    const double a = heldout_flow_loss(trained, set, 7, 2, 4, HeldoutVideo::None);
    std::vector<io::ClipItem> items = tiny.clips->items();
    for (auto& it : items) it.frames = torch::randint(0, 256, it.frames.sizes(), torch::kUInt8);
    io::ClipDataset scrambled(items, tiny.clips->options());
    set.clips = &scrambled;
    EXPECT_DOUBLE_EQ(heldout_flow_loss(trained, set, 7, 2, 4, HeldoutVideo::None), a);
    EXPECT_NE(heldout_flow_loss(trained, set, 7, 2, 4, HeldoutVideo::Own), a);
}

// The sync encoder's onset loss: with weight > 0 the onset head learns and both losses are logged;
// with weight 0 the head gets no gradient. Validation records the loss with swapped videos and the gap.
TEST(SftTrainerTest, SyncOnsetLossTrainsTheHeadAndIsLogged) {
    test::TinyPipeline tiny;
    torch::manual_seed(0);
    const auto init = io::state_dict(*flow::V2AGenerator(flow::GeneratorConfig::preset("tiny", test::TinyPipeline::kSeconds, 32)));
    ASSERT_TRUE(init.count("cond.sync.onset_head.weight")) << "the tiny preset should have the onset head";
    auto head_changed = [&](const SftResult& r) {
        const auto after = io::state_dict(*flow::load_generator(r.model_path));
        return !torch::equal(init.at("cond.sync.onset_head.weight"), after.at("cond.sync.onset_head.weight"));
    };
    auto o = tiny_options(tiny, "onset");
    o.steps = 6;
    o.val_every = 3;
    o.log_every = 1;
    const auto on = train_generator(*tiny.clips, *tiny.clips, o);
    EXPECT_TRUE(head_changed(on));
    int train_records = 0, val_records = 0;
    for (const auto& r : read_jsonl(o.run_dir / "metrics.jsonl")) {
        if (r["kind"] == "train") {
            ++train_records;
            ASSERT_TRUE(r.contains("flow_loss") && r.contains("sync_onset_loss")) << r.dump();
            // The optimised loss is flow + weight * onset (weight 1).
            EXPECT_NEAR(r["loss"].get<double>(), r["flow_loss"].get<double>() + r["sync_onset_loss"].get<double>(), 1e-5);
        } else if (r["kind"] == "val") {
            ++val_records;
            ASSERT_TRUE(r.contains("loss_swapped_video") && r.contains("video_gap")) << r.dump();
            EXPECT_NEAR(r["video_gap"].get<double>(), r["loss_swapped_video"].get<double>() - r["loss"].get<double>(), 1e-12);
        }
    }
    EXPECT_EQ(train_records, 6);
    EXPECT_EQ(val_records, 2);
    EXPECT_GT(on.heldout_loss_swapped, 0.0);

    o.run_dir = tiny.dir / "no_onset";
    o.sync_onset_weight = 0.0;
    EXPECT_FALSE(head_changed(train_generator(*tiny.clips, *tiny.clips, o)));
}

}  // namespace
}  // namespace v2a::train
