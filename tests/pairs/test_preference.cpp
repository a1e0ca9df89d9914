// Pair selection, complexity and the curriculum split on hand-made probabilities.
#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "v2a/pairs/preference.h"

namespace v2a::pairs {
namespace {

TEST(PreferenceTest, ComplexityIsHalfTheSumOfTheGoodAndBadGaps) {
    // w = (0.8, 0.15, 0.05), l = (0.1, 0.2, 0.7): 0.5 * ((0.8 - 0.1) + (0.7 - 0.05)) = 0.675
    EXPECT_NEAR(complexity({0.8, 0.15, 0.05}, {0.1, 0.2, 0.7}), 0.675, 1e-12);
    EXPECT_NEAR(complexity({1, 0, 0}, {0, 0, 1}), 1.0, 1e-12);
    EXPECT_NEAR(complexity({0, 0, 1}, {1, 0, 0}), -1.0, 1e-12);
    EXPECT_NEAR(complexity({0.3, 0.4, 0.3}, {0.3, 0.4, 0.3}), 0.0, 1e-12);
}

TEST(PreferenceTest, WinnerIsArgmaxGoodLoserIsArgmaxBad) {
    std::vector<RatingProbs> c{{0.2, 0.5, 0.3}, {0.7, 0.2, 0.1}, {0.1, 0.3, 0.6}, {0.3, 0.3, 0.4}, {0.5, 0.4, 0.1}};
    auto s = select_pair(c);
    EXPECT_TRUE(s.kept);
    EXPECT_EQ(s.winner, 1);
    EXPECT_EQ(s.loser, 2);
    EXPECT_NEAR(s.complexity, 0.5 * ((0.7 - 0.1) + (0.6 - 0.1)), 1e-12);
}

TEST(PreferenceTest, RefilterRejectsSameCandidateNoGapAndSmallMargin) {
    // One candidate is both most Good and most Bad (Medium is low everywhere).
    auto same = select_pair({{0.6, 0.0, 0.4}, {0.3, 0.5, 0.2}, {0.2, 0.6, 0.2}});
    EXPECT_FALSE(same.kept);
    EXPECT_EQ(same.rejected, "same candidate");
    // Loser has the same P(Good) as the winner (the first index wins ties).
    auto nogap = select_pair({{0.4, 0.5, 0.1}, {0.4, 0.1, 0.5}});
    EXPECT_FALSE(nogap.kept);
    EXPECT_EQ(nogap.rejected, "no P(Good) gap");
    auto small = select_pair({{0.45, 0.5, 0.05}, {0.4, 0.1, 0.5}}, {0.1});
    EXPECT_FALSE(small.kept);
    EXPECT_EQ(small.rejected, "margin");
    EXPECT_TRUE(select_pair({{0.45, 0.5, 0.05}, {0.4, 0.1, 0.5}}, {0.01}).kept);
}

TEST(PreferenceTest, BadInputsAreUsageErrors) {
    test::expect_error([] { select_pair({{1, 0, 0}}); }, ErrorKind::Usage, "at least 2");
    test::expect_error([] { select_pair({{1, 0, 0}, {NAN, 0, 1}}); }, ErrorKind::Usage, "candidate 1");
}

TEST(PreferenceTest, CurriculumPutsEasyPairsFirstAndRestSecond) {
    const std::vector<double> c{0.9, 0.1, 0.75, 0.7, -0.2, 0.0};
    auto split = split_by_complexity(c, 0.7);
    EXPECT_EQ(split.stage1, (std::vector<int64_t>{0, 2}));          // strictly above tau
    EXPECT_EQ(split.stage2, (std::vector<int64_t>{1, 3, 4, 5}));    // the rest, human pairs (c = 0) included
    auto cum = split_by_complexity(c, 0.7, true);
    EXPECT_EQ(cum.stage2.size(), c.size());
    auto none = split_by_complexity(c, 1.0);   // tau = 1: no stage 1
    EXPECT_TRUE(none.stage1.empty());
}

TEST(PreferenceTest, Stage1StepsFollowItsShareOrTheGivenFraction) {
    EXPECT_EQ(stage1_steps(100, 25, 75), 25);
    EXPECT_EQ(stage1_steps(100, 25, 75, 0.5), 50);
    EXPECT_EQ(stage1_steps(100, 0, 75), 0);
    EXPECT_EQ(stage1_steps(100, 10, 0), 100);
    EXPECT_EQ(stage1_steps(100, 25, 75, 0.0), 0);
    test::expect_error([] { stage1_steps(10, 1, 1, 2.0); }, ErrorKind::Usage, "fraction");
}

}  // namespace
}  // namespace v2a::pairs
