#include <gtest/gtest.h>

#include "metrics/fixtures.h"
#include "v2a/core/error.h"
#include "v2a/metrics/frechet.h"

namespace v2a::metrics {
namespace {

TEST(FrechetTest, HandCheckedDiagonalGaussians) {
    // metrics.md §3: 5 + 5 + 13 − 2·(2 + 6) = 7.
    GaussianStats a{torch::tensor({0.0, 0.0}, torch::kFloat64), torch::diag(torch::tensor({1.0, 4.0}, torch::kFloat64)), 10};
    GaussianStats b{torch::tensor({1.0, 2.0}, torch::kFloat64), torch::diag(torch::tensor({4.0, 9.0}, torch::kFloat64)), 10};
    EXPECT_NEAR(frechet_distance(a, b), 7.0, 1e-12);
    EXPECT_NEAR(frechet_distance(b, a), 7.0, 1e-12);
}

TEST(FrechetTest, OneDimensionalIsMeanAndStdDifference) {
    // FD = (μ1−μ2)² + (σ1−σ2)² in 1-D.
    GaussianStats a{torch::tensor({1.5}, torch::kFloat64), torch::tensor({{2.25}}, torch::kFloat64), 5};
    GaussianStats b{torch::tensor({-0.5}, torch::kFloat64), torch::tensor({{0.25}}, torch::kFloat64), 5};
    EXPECT_NEAR(frechet_distance(a, b), 4.0 + 1.0, 1e-12);
}

TEST(FrechetTest, StatsAreNumpyMeanAndUnbiasedCov) {
    const auto x = torch::tensor({{1.0, 2.0}, {3.0, 0.0}, {5.0, 4.0}}, torch::kFloat64);
    const auto s = gaussian_stats(x);
    EXPECT_NEAR(s.mean[0].item<double>(), 3.0, 1e-15);
    EXPECT_NEAR(s.mean[1].item<double>(), 2.0, 1e-15);
    // np.cov(rowvar=False): var x0 = (4+0+4)/2 = 4, var x1 = (0+4+4)/2 = 4, cov = (0 + 0 + 4)/2 = 2.
    EXPECT_NEAR(s.cov[0][0].item<double>(), 4.0, 1e-15);
    EXPECT_NEAR(s.cov[1][1].item<double>(), 4.0, 1e-15);
    EXPECT_NEAR(s.cov[0][1].item<double>(), 2.0, 1e-15);
    EXPECT_EQ(s.count, 3);
}

TEST(FrechetTest, MatchesScipyFixtures) {
    const auto fixture = test::load_fixture("fd_fixtures.json");
    ASSERT_GE(fixture.at("cases").size(), 5u);
    for (const auto& c : fixture.at("cases")) {
        const auto a = test::matrix(c.at("a"));
        const auto b = test::matrix(c.at("b"));
        const double expected = c.at("fd").get<double>();
        const double got = frechet_distance(a, b);
        EXPECT_NEAR(got, expected, 1e-6 * std::abs(expected)) << c.at("name");
        // Symmetric in its arguments.
        EXPECT_NEAR(frechet_distance(b, a), expected, 1e-6 * std::abs(expected)) << c.at("name");
        // The reference's +eps·I branch, forced, against scipy computing that branch.
        FrechetOptions forced;
        forced.force_eps = true;
        const double expected_eps = c.at("fd_with_eps_offset").get<double>();
        EXPECT_NEAR(frechet_distance(a, b, forced), expected_eps, 1e-6 * std::abs(expected_eps)) << c.at("name");
        // Float32 input is widened to double before any arithmetic.
        EXPECT_NEAR(frechet_distance(a.to(torch::kFloat32), b.to(torch::kFloat32)), expected,
                    1e-4 * std::abs(expected))
            << c.at("name");
    }
}

TEST(FrechetTest, IdenticalSetsGiveZero) {
    torch::manual_seed(3);
    const auto x = torch::randn({50, 7}, torch::kFloat64);
    EXPECT_NEAR(frechet_distance(x, x), 0.0, 1e-9);
}

TEST(FrechetTest, MismatchedDimensionsAreDataErrors) {
    test::expect_error([] { frechet_distance(torch::zeros({5, 3}), torch::zeros({5, 4})); }, ErrorKind::Data,
                       "dimensions differ");
}

TEST(FrechetTest, TooFewRowsIsDataError) {
    test::expect_error([] { frechet_distance(torch::zeros({1, 3}), torch::zeros({5, 3})); }, ErrorKind::Data,
                       "feature set a");
    test::expect_error([] { frechet_distance(torch::zeros({0, 3}), torch::zeros({5, 3})); }, ErrorKind::Data,
                       "at least 2");
}

TEST(FrechetTest, NanFeaturesAreDataErrors) {
    auto x = torch::randn({6, 2}, torch::kFloat64);
    x[2][1] = NAN;
    test::expect_error([&] { frechet_distance(torch::randn({6, 2}, torch::kFloat64), x); }, ErrorKind::Data,
                       "feature set b: features contain NaN");
}

TEST(FrechetTest, WrongRankIsDataError) {
    test::expect_error([] { gaussian_stats(torch::zeros({4}), "cache.pth"); }, ErrorKind::Data, "cache.pth");
}

}  // namespace
}  // namespace v2a::metrics
