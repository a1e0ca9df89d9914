#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/io/manifest.h"
#include "v2a/io/media.h"

namespace v2a::io {
namespace {

// A 2 s clip whose frame k is uniformly grey level 10 * k (so decode order is checkable) and whose
// audio is a tone at `freq`.
void make_clip(const std::filesystem::path& path, double freq) {
    const int n = 50;
    auto frames = torch::zeros({n, 32, 32, 3}, torch::kUInt8);
    for (int k = 0; k < n; ++k) frames[k].fill_(4 * k);
    Audio audio;
    audio.sample_rate = 16000;
    for (int i = 0; i < 32000; ++i) audio.samples.push_back(0.3f * float(std::sin(2 * M_PI * freq * i / 16000.0)));
    write_mp4(path, frames, 25.0, audio);
}

TEST(ClipDatasetTest, FrameIndexResamplingFollowsMMAudioRule) {
    auto idx = resample_frame_indices(4.0, 25.0, 8.0);
    ASSERT_EQ(idx.size(), 32u);
    EXPECT_EQ(idx[0], 0);
    EXPECT_EQ(idx[1], 3);    // floor(25 / 8)
    EXPECT_EQ(idx[8], 25);   // t = 1 s exactly
    EXPECT_EQ(idx[31], 96);  // floor(31 * 3.125)
}

TEST(ClipDatasetTest, LoadsFramesAudioLabelsThroughTheCache) {
    test::TempDir dir;
    make_clip(dir / "a.mp4", 440);
    make_clip(dir / "b.mp4", 880);
    fs::write_atomic(dir / "a.json", std::string("{\"class\": \"tone\"}"));
    std::vector<ManifestRow> rows(2);
    rows[0] = {"a", dir / "a.mp4", "a low tone", "low", Split::Train, std::nullopt, 0};
    rows[1] = {"b", dir / "b.mp4", "", "high", Split::Train, std::nullopt, 0};
    write_manifest(dir / "manifest.csv", rows);
    auto manifest = read_manifest(dir / "manifest.csv");

    ClipDatasetOptions o;
    o.duration = 3.0;  // longer than the clips: frames repeat the last, audio is zero-padded
    o.frame_size = 16;
    o.cache_dir = dir / "cache";
    ClipDataset ds(manifest, o);
    ASSERT_EQ(ds.size(), 2);
    EXPECT_EQ(ds.frames({0, 1}).sizes(), (std::vector<int64_t>{2, 75, 16, 16, 3}));
    EXPECT_EQ(ds.audio({1}).sizes(), (std::vector<int64_t>{1, 48000}));
    // Frame 10 is grey 40 (H.264 is lossy: a few levels of tolerance); frame 70 repeats frame 49.
    EXPECT_NEAR(ds[0].frames[10].to(torch::kFloat32).mean().item<float>(), 40.0f, 3.0f);
    EXPECT_NEAR(ds[0].frames[70].to(torch::kFloat32).mean().item<float>(), 196.0f, 3.0f);
    EXPECT_LT(ds[0].audio.narrow(0, 40000, 8000).abs().max().item<float>(), 1e-6f);
    EXPECT_GT(ds[0].audio.narrow(0, 8000, 8000).abs().max().item<float>(), 0.2f);
    EXPECT_EQ(ds.labels(), (std::vector<std::string>{"high", "low"}));
    EXPECT_TRUE(torch::equal(ds.label_indices({0, 1}), torch::tensor({1, 0}, torch::kInt64)));
    EXPECT_EQ(ds.label_index(0), 1);
    EXPECT_EQ(ds.label_index(1), 0);
    EXPECT_NE(ds[0].truth_json.find("tone"), std::string::npos);
    EXPECT_TRUE(ds[1].truth_json.empty());

    // A second load reads the cache and gives identical tensors.
    ClipDataset again(manifest, o);
    EXPECT_TRUE(torch::equal(again[0].frames, ds[0].frames));
    EXPECT_TRUE(torch::equal(again[1].audio, ds[1].audio));
}

TEST(ClipDatasetTest, BrokenVideoIsANamedError) {
    test::TempDir dir;
    fs::write_atomic(dir / "bad.mp4", std::string("this is not a video"));
    std::vector<ManifestRow> rows(1);
    rows[0] = {"bad", dir / "bad.mp4", "", "x", Split::Train, std::nullopt, 0};
    write_manifest(dir / "manifest.csv", rows);
    try {
        ClipDataset ds(read_manifest(dir / "manifest.csv"), ClipDatasetOptions{});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.mp4"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace v2a::io
