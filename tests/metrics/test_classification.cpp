#include <gtest/gtest.h>

#include "metrics/fixtures.h"
#include "v2a/core/error.h"
#include "v2a/metrics/classification.h"
#include "v2a/metrics/numpy_random.h"

namespace v2a::metrics {
namespace {

TEST(KlTest, HandCheckedSoftmaxAndSigmoid) {
    // metrics.md §4.2: gt [1,0,−1], pred [0,0,0].
    const auto gt = torch::tensor({{1.0, 0.0, -1.0}}, torch::kFloat64);
    const auto pred = torch::zeros({1, 3}, torch::kFloat64);
    EXPECT_NEAR(kl_softmax(pred, gt), 0.266217, 5e-7);
    EXPECT_NEAR(kl_sigmoid(pred, gt), 0.110944, 5e-7);
    // Closed form: Σ p log(3p) with p = softmax([1,0,−1]).
    const auto p = torch::softmax(gt, 1);
    EXPECT_NEAR(kl_softmax(pred, gt), (p * (3.0 * p).log()).sum().item<double>(), 1e-14);
}

TEST(KlTest, AverageIsSumOverClassesDividedByPairs) {
    const auto gt = torch::tensor({{1.0, 0.0, -1.0}, {0.0, 0.0, 0.0}}, torch::kFloat64);
    const auto pred = torch::zeros({2, 3}, torch::kFloat64);
    // Second pair has KL 0, so the mean over the 2 pairs halves the single-pair value.
    EXPECT_NEAR(kl_softmax(pred, gt), 0.266217 / 2, 5e-7);
    EXPECT_NEAR(kl_softmax(gt, gt), 0.0, 1e-15);
}

TEST(KlTest, AudioLdmConventionPutsEpsInsidePredLog) {
    const auto gt = torch::tensor({{1.0, 0.0, -1.0}}, torch::kFloat64);
    const auto pred = torch::zeros({1, 3}, torch::kFloat64);
    KlOptions o;
    o.convention = KlConvention::AudioLdmEval;
    const auto p = torch::softmax(gt, 1);
    const double expected = (p * (p.log() - std::log(1.0 / 3.0 + 1e-6))).sum().item<double>();
    EXPECT_NEAR(kl_softmax(pred, gt, o), expected, 1e-14);
    EXPECT_GT(std::abs(kl_softmax(pred, gt, o) - kl_softmax(pred, gt)), 1e-7);
}

TEST(KlTest, ShapeMismatchAndNanAreDataErrors) {
    test::expect_error([] { kl_softmax(torch::zeros({2, 3}), torch::zeros({2, 4})); }, ErrorKind::Data,
                       "differ in shape");
    test::expect_error([] { kl_softmax(torch::zeros({0, 3}), torch::zeros({0, 3})); }, ErrorKind::Data, "empty");
    auto bad = torch::zeros({2, 3});
    bad[1][1] = NAN;
    test::expect_error([&] { kl_softmax(torch::zeros({2, 3}), bad); }, ErrorKind::Data, "gt logits contain NaN");
}

TEST(NumpyRandomTest, PermutationMatchesNumpyBitForBit) {
    const auto fixture = test::load_fixture("is_fixtures.json");
    for (const auto& [n, expected] : fixture.at("permutation_seed2020").items()) {
        EXPECT_EQ(NumpyRandomState(2020).permutation(std::stoll(n)), expected.get<std::vector<int64_t>>()) << n;
    }
    for (const auto& [seed, expected] : fixture.at("permutation_n20").items()) {
        EXPECT_EQ(NumpyRandomState(static_cast<uint32_t>(std::stoull(seed))).permutation(20),
                  expected.get<std::vector<int64_t>>())
            << seed;
    }
}

TEST(InceptionTest, HandCheckedSingleSplit) {
    // metrics.md §4.1: logits [[2,0],[0,2]], one split -> 1.38793.
    InceptionOptions o;
    o.splits = 1;
    o.shuffle = false;
    const auto s = inception_score(torch::tensor({{2.0, 0.0}, {0.0, 2.0}}, torch::kFloat64), o);
    EXPECT_NEAR(s.mean, 1.38793, 5e-6);
    EXPECT_EQ(s.std, 0.0);
}

TEST(InceptionTest, MatchesNumpyReferenceWithShuffledSplits) {
    const auto fixture = test::load_fixture("is_fixtures.json");
    for (const auto& c : fixture.at("inception")) {
        const auto logits = test::matrix(c.at("logits"));
        const auto s = inception_score(logits);
        EXPECT_NEAR(s.mean, c.at("mean").get<double>(), 1e-12);
        EXPECT_NEAR(s.std, c.at("std").get<double>(), 1e-12);
        InceptionOptions plain;
        plain.shuffle = false;
        const auto u = inception_score(logits, plain);
        EXPECT_NEAR(u.mean, c.at("mean_no_shuffle").get<double>(), 1e-12);
        EXPECT_NEAR(u.std, c.at("std_no_shuffle").get<double>(), 1e-12);
        // The shuffle changes split membership, hence the std (it must be exercised).
        EXPECT_NE(s.std, u.std);
    }
}

TEST(InceptionTest, TooFewSamplesAndNanAreDataErrors) {
    test::expect_error([] { inception_score(torch::zeros({9, 4})); }, ErrorKind::Data, "cannot fill 10 splits");
    auto bad = torch::zeros({12, 3});
    bad[0][0] = INFINITY;
    test::expect_error([&] { inception_score(bad); }, ErrorKind::Data, "NaN or Inf");
}

}  // namespace
}  // namespace v2a::metrics
