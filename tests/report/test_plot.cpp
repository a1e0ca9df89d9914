#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/report/plot.h"

namespace v2a::report {
namespace {

TEST(PlotTest, WritesPngAndSvg) {
    test::TempDir dir;
    Series loss{"train loss", {1, 2, 3, 4}, {1.0, 0.6, 0.4, 0.3}};
    Series val{"val loss", {2, 4}, {0.7, 0.5}, "linespoints"};
    plot_series(dir / "curve.png", {loss, val}, {"loss", "step", "MSE"});
    auto png = fs::read_bytes(dir / "curve.png");
    ASSERT_GT(png.size(), 8u);
    EXPECT_EQ(png[1], 'P');
    EXPECT_EQ(png[2], 'N');
    EXPECT_EQ(png[3], 'G');
    plot_series(dir / "curve.svg", {loss}, {"a \"quoted\" title", "x", "y"});
    EXPECT_NE(fs::read_text(dir / "curve.svg").find("<svg"), std::string::npos);
    int files = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        ++files;
    }
    EXPECT_EQ(files, 2);  // no data/script/temp files left behind
}

TEST(PlotTest, BadRequestsAreErrors) {
    test::TempDir dir;
    EXPECT_THROW(plot_series(dir / "x.jpg", {{"a", {1}, {1}}}, {}), Error);
    EXPECT_THROW(plot_series(dir / "x.png", {}, {}), Error);
    EXPECT_THROW(plot_series(dir / "x.png", {{"a", {1, 2}, {1}}}, {}), Error);
    EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
}

TEST(PlotTest, SmoothIsTrailingMean) {
    auto s = smooth({1, 2, 3, 4}, 2);
    EXPECT_DOUBLE_EQ(s[0], 1.0);
    EXPECT_DOUBLE_EQ(s[1], 1.5);
    EXPECT_DOUBLE_EQ(s[3], 3.5);
    EXPECT_EQ(smooth({5, 6}, 1), (std::vector<double>{5, 6}));
}

}  // namespace
}  // namespace v2a::report
