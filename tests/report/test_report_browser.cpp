// The report in a real browser (Debian's chromium, headless, offline, from file://): every page loads
// without a console error or failed request, every video reaches a decodable state and every
// spectrogram / curve image decodes. Screenshots go to report_e2e/ in the working folder
// (V2A_SCREENSHOT_DIR overrides, e.g. docs/). Skipped only when chromium is not installed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "site_fixture.h"
#include "support/browser.h"

namespace v2a::report {
namespace {

TEST(ReportBrowserTest, EveryPageLoadsFromDiskAndEveryMediaElementPlays) {
    const auto chromium = v2a::test::chromium_path();
    if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian package chromium; scripts/setup.sh installs it)";
    const std::filesystem::path source = V2A_SOURCE_DIR;
    const auto e2e = source / "tests" / "serve" / "e2e";
    v2a::test::ensure_playwright(e2e);
    if (HasFatalFailure()) return;

    test::SiteFixture f;
    auto o = f.options();
    o.page_size = 1;  // two clip pages: the script follows the navigation
    const auto site = write_site(o);
    const auto shots = v2a::test::screenshot_dir("report_e2e");
    const auto [rc, out] = v2a::test::run_command(
        "node " + v2a::test::shell_quoted((source / "tests" / "report" / "e2e" / "check_report.mjs").string()) +
        " --index " + v2a::test::shell_quoted(site.index.string()) + " --chromium " + v2a::test::shell_quoted(chromium) +
        " --playwright " + v2a::test::shell_quoted(e2e.string()) + " --out " + v2a::test::shell_quoted(shots.string()));
    ASSERT_EQ(rc, 0) << out;
    const auto at = out.rfind("E2E ");
    ASSERT_NE(at, std::string::npos) << out;
    const auto r = nlohmann::json::parse(out.substr(at + 4, out.find('\n', at) - at - 4));
    EXPECT_EQ(r["pages"].size(), 3u) << out;              // summary + 2 clip pages
    EXPECT_TRUE(r["errors"].empty()) << r["errors"].dump(2);
    EXPECT_EQ(r["media"], 6) << out;                      // 2 clips x 3 columns
    EXPECT_EQ(r["media_ready"], r["media"]) << r["not_ready"].dump(2);
    EXPECT_GE(r["images"].get<int>(), 6);
    EXPECT_EQ(r["images_decoded"], r["images"]) << out;
    for (const char* shot : {"report_summary.png", "report_clips.png"}) {
        ASSERT_TRUE(std::filesystem::exists(shots / shot)) << shot;
        EXPECT_GT(std::filesystem::file_size(shots / shot), 5000u) << shot;
    }
}

}  // namespace
}  // namespace v2a::report
