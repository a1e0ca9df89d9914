// End-to-end in a real browser: Debian's chromium, headless and offline, driven by playwright-core
// (tests/serve/e2e, pinned in package.json / package-lock.json). The browser rates three clips by
// clicking and by keys (with an undo), judges an A/B pair, opens Agreement and runs the Demo; then
// this test checks the database. Screenshots of every page go to serve_e2e/ in the working folder
// (V2A_SCREENSHOT_DIR overrides, e.g. docs/). Skipped only when chromium is not installed.
#include <cstdio>
#include <cstdlib>

#include "fixtures.h"
#include "support/browser.h"
#include "v2a/serve/label_store.h"

namespace v2a::serve::test {
namespace {

using v2a::test::chromium_path;

std::pair<int, std::string> run(const std::string& command) { return v2a::test::run_command(command); }
std::string quoted(const std::string& s) { return v2a::test::shell_quoted(s); }

TEST(BrowserTest, RatesThreeClipsByClickAndKeysThenChecksTheDatabase) {
    const auto chromium = chromium_path();
    if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian package chromium; scripts/setup.sh installs it)";
    const stdfs::path e2e = stdfs::path(V2A_SOURCE_DIR) / "tests" / "serve" / "e2e";
    v2a::test::ensure_playwright(e2e);
    if (HasFatalFailure()) return;

    v2a::test::TempDir dir;
    // Three single clips and two versions of one video; each clip needs one rating.
    const auto manifest = write_clips(dir.path(), {"street", "piano", "dog", "engine__s1", "engine__s2"});
    ServerOptions o;
    o.db = dir / "labels.sqlite";
    o.raters_per_clip = 1;
    DemoOptions d = write_tiny_model(dir.path());
    d.vocoder_iterations = 4;
    o.demo = d;
    ClipRegistryOptions r;
    r.manifest = manifest;
    // Only the first three clips are rated in the browser: keep the other two out of Rate's way by
    // rating them here first, as another annotator.
    RunningServer server(o, ClipRegistry::load(r));
    auto c = server.client();
    for (const std::string id : {"engine__s1", "engine__s2"})
        ASSERT_EQ(post_json(c, "/api/labels", {{"annotator", "setup"}, {"clip_id", id}, {"label", "good"}}).status, 201);

    const stdfs::path shots = v2a::test::screenshot_dir("serve_e2e");
    const auto [rc, out] = run("node " + quoted((e2e / "rate.mjs").string()) + " --url " + server.url() + " --chromium " +
                               quoted(chromium) + " --out " + quoted(shots.string()) + " --upload " +
                               quoted((dir / "clips" / "street.mp4").string()));
    ASSERT_EQ(rc, 0) << out;
    const auto at = out.rfind("E2E ");
    ASSERT_NE(at, std::string::npos) << out;
    const auto report = json::parse(out.substr(at + 4, out.find('\n', at) - at - 4));

    // The database holds what the browser did: good (click), medium (key 2), bad (key 1, undo, key 3).
    std::vector<LabelRow> mine;
    for (const auto& l : server.server().store().labels(true))
        if (l.annotator == "e2e-browser") mine.push_back(l);
    ASSERT_EQ(mine.size(), 4u) << out;
    EXPECT_EQ(mine[0].clip_id, report["clips"][0]);
    EXPECT_EQ(mine[0].label, "good");
    EXPECT_EQ(mine[1].clip_id, report["clips"][1]);
    EXPECT_EQ(mine[1].label, "medium");
    EXPECT_EQ(mine[2].clip_id, report["clips"][2]);
    EXPECT_EQ(mine[2].label, "good");
    EXPECT_TRUE(mine[2].undone);
    EXPECT_EQ(mine[3].clip_id, report["clips"][2]);
    EXPECT_EQ(mine[3].label, "bad");
    EXPECT_FALSE(mine[3].undone);
    std::set<std::string> rated;
    for (const auto& l : mine) {
        EXPECT_GT(l.response_ms, 0);
        EXPECT_EQ(l.version, server.server().clips().find(l.clip_id)->version);
        rated.insert(l.clip_id);
    }
    EXPECT_EQ(rated, (std::set<std::string>{"street", "piano", "dog"}));
    const auto comparisons = server.server().store().comparisons();
    ASSERT_EQ(comparisons.size(), 1u);
    EXPECT_EQ(comparisons[0].choice, "left");
    EXPECT_EQ(comparisons[0].winner, report["compare_left"]);
    EXPECT_EQ(report["agreement_rows"], 5);
    EXPECT_TRUE(report.contains("demo_download")) << out;
    for (const char* page : {"serve_rate.png", "serve_compare.png", "serve_agreement.png", "serve_demo.png"}) {
        ASSERT_TRUE(stdfs::exists(shots / page)) << page;
        EXPECT_GT(stdfs::file_size(shots / page), 5000u) << page;
    }
    std::printf("screenshots: %s\n", shots.c_str());
}

}  // namespace
}  // namespace v2a::serve::test
