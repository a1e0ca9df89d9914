// `v2a demo` (README command 1) end to end at the smallest scale, through the CLI: the whole loop runs
// and ends in its report — base and Flow-DPO side by side on every test clip, each with its eval JSON.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"
#include "v2a/core/fs.h"

namespace v2a::report {
namespace {

TEST(DemoReportTest, TheDemoRunsAtTinyScaleAndWritesItsReport) {
    v2a::test::TempDir dir;
    const auto out = dir / "demo";
    const std::string cmd = std::string(V2A_CLI) + " --threads 1 --log-level warn demo --out '" + out.string() +
                            "' --train 16 --test 4 --vae-steps 5 --generator-steps 5 --judge-steps 5 --pair-videos 4"
                            " --dpo-steps 2 --batch 4 --steps 2 > '" + (dir / "log.txt").string() + "' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << fs::read_text(dir / "log.txt");
    const auto demo = nlohmann::json::parse(fs::read_text(out / "demo.json"));
    EXPECT_TRUE(demo.contains("table"));
    for (const char* system : {"base", "dpo"}) {
        const auto eval = nlohmann::json::parse(fs::read_text(out / "eval" / (std::string(system) + ".json")));
        EXPECT_EQ(eval["per_clip"].size(), 4u) << system;
        EXPECT_TRUE(eval["metrics"].contains("sim_quality")) << system;
    }
    const auto index = fs::read_text(out / "report" / "index.html");
    EXPECT_NE(index.find("base (SFT)"), std::string::npos);
    EXPECT_NE(index.find("Flow-DPO"), std::string::npos);
    EXPECT_NE(index.find("AudioScore (fit to SIMULATED annotator ratings)"), std::string::npos);
    const auto clips = fs::read_text(out / "report" / "clips_1.html");
    size_t videos = 0;
    for (size_t p = clips.find("<video"); p != std::string::npos; p = clips.find("<video", p + 1)) ++videos;
    EXPECT_EQ(videos, 4u * 3u);  // 4 test clips x (ground truth, base, DPO)
    EXPECT_NE(fs::read_text(dir / "log.txt").find("report: "), std::string::npos);
}

}  // namespace
}  // namespace v2a::report
