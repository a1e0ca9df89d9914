// The dataset writer: argument validation, a tiny end-to-end dataset (mp4 + wav + json + manifest),
// byte-identical re-runs under a seed, and resuming after a partial run.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/media.h"
#include "v2a/synth/classes.h"
#include "v2a/synth/dataset.h"

namespace v2a::synth {
namespace {

namespace stdfs = std::filesystem;

DatasetOptions tiny(const stdfs::path& out, uint64_t seed = 3) {
    DatasetOptions o;
    o.out = out;
    o.n_train = 4;
    o.n_val = 1;
    o.n_test = 1;
    o.config.seconds = 1.0;
    o.config.size = 32;
    o.seed = seed;
    o.workers = 2;
    o.classes = "piano,water,speech,camera";
    return o;
}

std::vector<std::string> lines_of(const stdfs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

TEST(DatasetOptionsTest, EachBadOptionIsRejectedByName) {
    struct Case {
        const char* name;
        std::function<void(DatasetOptions&)> set;
    };
    const std::vector<Case> cases = {
        {"--out", [](DatasetOptions& o) { o.out.clear(); }},
        {"--size", [](DatasetOptions& o) { o.config.size = 8; }},
        {"--size", [](DatasetOptions& o) { o.config.size = 1024; }},
        {"--seconds", [](DatasetOptions& o) { o.config.seconds = 0.5; }},
        {"--seconds", [](DatasetOptions& o) { o.config.seconds = 11; }},
        {"--fps", [](DatasetOptions& o) { o.config.fps = 0; }},
        {"--sample-rate", [](DatasetOptions& o) { o.config.sample_rate = 100; }},
        {"--train", [](DatasetOptions& o) { o.n_train = -1; }},
        {"--train/--val/--test", [](DatasetOptions& o) { o.n_train = o.n_val = o.n_test = 0; }},
        {"--workers", [](DatasetOptions& o) { o.workers = -2; }},
        {"--classes", [](DatasetOptions& o) { o.classes = "piano,banjo"; }},
    };
    for (const Case& c : cases) {
        DatasetOptions o = tiny("/tmp/unused");
        c.set(o);
        try {
            validate_options(o);
            FAIL() << "accepted bad " << c.name;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
            EXPECT_NE(std::string(e.what()).find(c.name), std::string::npos) << e.what();
        }
    }
    EXPECT_NO_THROW(validate_options(tiny("/tmp/unused")));
}

TEST(DatasetTest, CsvFieldQuotesOnlyWhenNeeded) {
    EXPECT_EQ(csv_field("a piano plays"), "a piano plays");
    EXPECT_EQ(csv_field("one, two"), "\"one, two\"");
    EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
}

TEST(DatasetTest, TinyDatasetEndToEndIsDeterministicAndResumable) {
    test::TempDir dir;
    const auto a = dir / "a", b = dir / "b", c = dir / "c";
    const auto sa = write_dataset(tiny(a));
    EXPECT_EQ(sa["clips"], 6);
    EXPECT_EQ(sa["rendered"], 6);
    EXPECT_EQ(sa["per_split"]["train"], 4);
    EXPECT_GT(sa["bytes"].get<int64_t>(), 0);

    // manifest: header + one row per clip, train first, paths relative to the manifest folder
    const auto rows = lines_of(a / "manifest.csv");
    ASSERT_EQ(rows.size(), 7u);
    EXPECT_EQ(rows[0], "id,video,caption,label,split,audio");
    EXPECT_EQ(rows[1].rfind("train_00000,clips/train_00000.mp4,", 0), 0u) << rows[1];
    EXPECT_NE(rows[6].find(",test,clips/test_00000.wav"), std::string::npos) << rows[6];

    // every clip: an mp4 with both streams at the requested size/rate, the wav, the ground truth
    for (const char* id : {"train_00000", "train_00003", "val_00000", "test_00000"}) {
        const auto info = io::probe(a / "clips" / (std::string(id) + ".mp4"));
        EXPECT_TRUE(info.has_video && info.has_audio) << id;
        EXPECT_EQ(info.width, 32);
        EXPECT_NEAR(info.video_fps, 25.0, 1e-6);
        const auto wav = io::read_audio_file(a / "clips" / (std::string(id) + ".wav"));
        EXPECT_EQ(wav.sample_rate, 16000);
        EXPECT_EQ(wav.samples.size(), 16000u);
        const auto gt = nlohmann::json::parse(fs::read_text(a / "clips" / (std::string(id) + ".json")));
        EXPECT_EQ(gt["id"], id);
        ASSERT_GE(gt["sources"].size(), 1u);
        const auto& ev = gt["sources"][0]["events"];
        ASSERT_GE(ev.size(), 1u);
        EXPECT_DOUBLE_EQ(ev[0]["time"].get<double>(), ev[0]["frame"].get<int>() / 25.0);
        EXPECT_EQ(ev[0]["sample"].get<int64_t>(), ev[0]["frame"].get<int64_t>() * 640);
    }

    // same seed, other folder: byte-identical clip files and manifest
    write_dataset(tiny(b));
    auto same_files = [](const stdfs::path& x, const stdfs::path& y) {
        int n = 0;
        for (const auto& e : stdfs::directory_iterator(x / "clips")) {
            const auto other = y / "clips" / e.path().filename();
            EXPECT_EQ(fs::read_bytes(e.path()), fs::read_bytes(other)) << e.path();
            ++n;
        }
        EXPECT_EQ(fs::read_text(x / "manifest.csv"), fs::read_text(y / "manifest.csv"));
        return n;
    };
    EXPECT_EQ(same_files(a, b), 18);

    // resume: a clip without its json (interrupted before the end) is rendered again, the others skipped
    stdfs::remove(a / "clips" / "train_00002.json");
    stdfs::remove(a / "clips" / "val_00000.mp4");
    const auto resumed = write_dataset(tiny(a));
    EXPECT_EQ(resumed["rendered"], 2);
    EXPECT_EQ(resumed["skipped"], 4);
    EXPECT_EQ(same_files(a, b), 18);
    // no temp files left behind
    for (const auto& e : stdfs::directory_iterator(a / "clips")) EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos);

    // another seed: other audio
    write_dataset(tiny(c, 4));
    EXPECT_NE(fs::read_bytes(a / "clips" / "train_00000.wav"), fs::read_bytes(c / "clips" / "train_00000.wav"));
    // other settings in the same folder: clips are re-rendered, not mixed with the old config
    auto other = tiny(a);
    other.config.size = 48;
    EXPECT_EQ(write_dataset(other)["rendered"], 6);
    EXPECT_EQ(io::probe(a / "clips" / "train_00000.mp4").width, 48);
}

}  // namespace
}  // namespace v2a::synth
