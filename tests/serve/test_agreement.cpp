// Agreement statistics against published worked examples.
#include <gtest/gtest.h>

#include <cmath>

#include "v2a/serve/agreement.h"

namespace v2a::serve {
namespace {

TEST(AgreementTest, FleissKappaMatchesTheWikipediaExample) {
    // Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories -> kappa 0.210.
    const std::vector<std::vector<int64_t>> counts = {
        {0, 0, 0, 0, 14}, {0, 2, 6, 4, 2}, {0, 0, 3, 5, 6}, {0, 3, 9, 2, 0}, {2, 2, 8, 1, 1},
        {7, 7, 0, 0, 0},  {3, 2, 6, 3, 0}, {2, 5, 3, 2, 2}, {6, 5, 2, 1, 0}, {0, 2, 2, 3, 7}};
    EXPECT_NEAR(fleiss_kappa(counts), 0.20993, 1e-4);
}

TEST(AgreementTest, FleissKappaEdgeCases) {
    EXPECT_NEAR(fleiss_kappa({{2, 0, 0}, {0, 2, 0}, {0, 0, 2}}), 1.0, 1e-12);       // perfect agreement
    EXPECT_TRUE(std::isnan(fleiss_kappa({{3, 0, 0}, {2, 0, 0}})));                  // one category only
    EXPECT_TRUE(std::isnan(fleiss_kappa({{1, 0, 0}, {0, 1, 0}})));                  // nobody rated twice
    EXPECT_TRUE(std::isnan(fleiss_kappa({})));
    // Single ratings are ignored, not counted as agreement.
    EXPECT_NEAR(fleiss_kappa({{2, 0, 0}, {0, 2, 0}, {1, 0, 0}}), fleiss_kappa({{2, 0, 0}, {0, 2, 0}}), 1e-12);
}

TEST(AgreementTest, CohenKappaMatchesTheWikipediaExample) {
    // 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> kappa 0.4.
    std::vector<std::pair<int, int>> r;
    for (int i = 0; i < 20; ++i) r.emplace_back(0, 0);
    for (int i = 0; i < 5; ++i) r.emplace_back(0, 1);
    for (int i = 0; i < 10; ++i) r.emplace_back(1, 0);
    for (int i = 0; i < 15; ++i) r.emplace_back(1, 1);
    EXPECT_NEAR(cohen_kappa(r, 2), 0.4, 1e-12);
    EXPECT_TRUE(std::isnan(cohen_kappa({}, 3)));
    EXPECT_TRUE(std::isnan(cohen_kappa({{0, 0}, {0, 0}}, 3)));
}

TEST(AgreementTest, ReportCountsClipsAndPairsAndSkipsUndone) {
    auto l = [](std::string clip, std::string label, std::string who, bool undone = false) {
        LabelRow r;
        r.clip_id = clip;
        r.label = label;
        r.annotator = who;
        r.undone = undone;
        return r;
    };
    const std::vector<LabelRow> labels = {l("x", "good", "ana"), l("x", "good", "bob"), l("y", "bad", "ana"),
                                          l("y", "medium", "bob"), l("y", "good", "cat", true), l("gone", "bad", "ana")};
    const auto r = agreement(labels, {"x", "y", "z"});
    ASSERT_EQ(r.clips.size(), 4u);   // z with no label, and a label of a clip no longer registered
    EXPECT_EQ(r.clips[0].counts[0], 2);
    EXPECT_EQ(r.clips[1].counts[1], 1);
    EXPECT_EQ(r.clips[1].counts[2], 1);
    EXPECT_EQ(r.clips[1].total(), 2);   // cat's undone label left out
    EXPECT_EQ(r.clips[2].total(), 0);
    EXPECT_EQ(r.clips[3].clip_id, "gone");
    EXPECT_EQ(r.fleiss_clips, 2);
    ASSERT_EQ(r.pairs.size(), 1u);
    EXPECT_EQ(r.pairs[0].shared, 2);
    const auto j = r.to_json();
    EXPECT_EQ(j["annotators"].size(), 2u);
    EXPECT_EQ(j["clips"][0]["good"], 2);
}

}  // namespace
}  // namespace v2a::serve
