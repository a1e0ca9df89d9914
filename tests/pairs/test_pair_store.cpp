// The pair dataset on disk: round trip, resume after a torn write, shards, bad files; STAR ranking.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "support/expect_error.h"
#include "support/temp_dir.h"
#include "v2a/pairs/pair_store.h"
#include "v2a/flow/velocity.h"
#include "v2a/pairs/sampled_pairs.h"

namespace v2a::pairs {
namespace {

PairRecord record(const std::string& clip, double c) {
    PairRecord r;
    r.pair_id = clip;
    r.clip_id = clip;
    r.caption = "a caption";
    r.complexity = c;
    r.winner = {3, {0.7, 0.2, 0.1}, ""};
    r.loser = {1, {0.1, 0.2, 0.7}, ""};
    r.candidates = {r.winner, r.loser};
    r.winner_key = clip + "/w";
    r.loser_key = clip + "/l";
    return r;
}

void write(PairWriter& w, const std::vector<std::string>& clips, float base) {
    std::vector<PairRecord> rs;
    std::map<std::string, torch::Tensor> t;
    for (size_t i = 0; i < clips.size(); ++i) {
        rs.push_back(record(clips[i], 0.1 * double(i)));
        t[clips[i] + "/w"] = torch::full({5, 3}, base + float(i));
        t[clips[i] + "/l"] = torch::full({5, 3}, -base - float(i));
    }
    w.write_chunk(rs, t);
}

TEST(PairStoreTest, RoundTripKeepsRecordsAndLatents) {
    test::TempDir dir;
    {
        PairWriter w(dir.path());
        write(w, {"a", "b"}, 1);
        write(w, {"c"}, 10);
        EXPECT_EQ(w.chunks(), 2);
    }
    auto set = PairSet::load(dir.path());
    ASSERT_EQ(set.size(), 3);
    EXPECT_EQ(set[2].clip_id, "c");
    EXPECT_EQ(set[0].winner.seed, 3u);
    EXPECT_NEAR(set[1].complexity, 0.1, 1e-12);
    EXPECT_FLOAT_EQ(set.winners({1})[0][0][0].item<float>(), 2.0f);
    EXPECT_FLOAT_EQ(set.losers({2})[0][4][2].item<float>(), -10.0f);
    EXPECT_EQ(set.summary()["by_source"]["auto"], 3);
}

TEST(PairStoreTest, ResumeSkipsDoneClipsAndDropsATornLastLine) {
    test::TempDir dir;
    {
        PairWriter w(dir.path());
        write(w, {"a", "b"}, 1);
        w.write_chunk({}, {}, {{{"clip_id", "r"}, {"reason", "same candidate"}}});
    }
    // A kill mid-append leaves half a line.
    { std::ofstream(dir / "pairs-0of1.jsonl", std::ios::app) << "{\"pair_id\": \"c\", \"clip"; }
    PairWriter again(dir.path());
    EXPECT_EQ(again.done(), (std::set<std::string>{"a", "b", "r"}));
    EXPECT_EQ(again.chunks(), 1);
    write(again, {"c"}, 5);
    auto set = PairSet::load(dir.path());
    EXPECT_EQ(set.size(), 3);
    EXPECT_EQ(set[2].shard, "pairs-0of1-000001.safetensors");
}

TEST(PairStoreTest, ShardsOfOneSetMergeAndDuplicatesAreRejected) {
    test::TempDir dir;
    {
        PairWriter s0(dir.path(), 0, 2), s1(dir.path(), 1, 2);
        write(s0, {"a"}, 1);
        write(s1, {"b"}, 2);
    }
    EXPECT_EQ(PairSet::load(dir.path()).size(), 2);
    {
        PairWriter h(dir.path(), 0, 1, "human");
        write(h, {"a"}, 3);   // same pair_id "a" as shard 0
    }
    test::expect_error([&] { PairSet::load(dir.path()); }, ErrorKind::Data, "duplicate pair_id 'a'");
}

TEST(PairStoreTest, BadDirectoriesAndFilesNameTheProblem) {
    test::TempDir dir;
    test::expect_error([&] { PairSet::load(dir / "nope"); }, ErrorKind::IO, "nope");
    test::expect_error([&] { PairSet::load(dir.path()); }, ErrorKind::Data, "no pair files");
    { std::ofstream(dir / "pairs-0of1.jsonl") << "{\"pair_id\": \"x\"}\n"; }
    test::expect_error([&] { PairSet::load(dir.path()); }, ErrorKind::Data, "pairs-0of1.jsonl:1");
    { std::ofstream(dir / "pairs-0of1.jsonl") << record("x", 0).to_json().dump() << "\n"; }
    test::expect_error([&] { PairSet::load(dir.path()); }, ErrorKind::Data, "missing");
    test::expect_error([] { parse_shard("3/2"); }, ErrorKind::Usage, "0 <= i < N");
    test::expect_error([] { parse_shard("a/b"); }, ErrorKind::Usage, "i/N");
    EXPECT_EQ(parse_shard("1/4"), std::make_pair(1, 4));
}

TEST(StarRankingTest, WinnerIsBestOnSemanticPlusTemporalLoserWorst) {
    // Columns: ib, clap, desync, quality, pesq. Candidate 2 is aligned (high ib, low desync);
    // candidate 0 is poor on both.
    const double nan = std::nan("");
    auto raw = torch::tensor({0.1, 0.2, 0.9, 0.0, nan,    //
                              0.3, 0.3, 0.5, 0.0, nan,    //
                              0.8, 0.6, 0.0, 0.0, nan,    //
                              0.4, 0.4, 0.4, 0.0, nan},
                             torch::kDouble)
                   .reshape({4, 5});
    auto s = select_star_pair(raw);
    EXPECT_TRUE(s.kept);
    EXPECT_EQ(s.winner, 2);
    EXPECT_EQ(s.loser, 0);
    EXPECT_GT(s.complexity, 0.0);
    EXPECT_LE(s.complexity, 1.0);
    // Pareto only removes pairs: whenever it keeps one it is the free ranking's pair, and on random
    // candidates it refuses some that the free ranking keeps.
    auto g = flow::cpu_generator(7);
    int refused = 0;
    for (int trial = 0; trial < 200; ++trial) {
        auto r = torch::rand({5, 5}, g, torch::kDouble);
        auto free = select_star_pair(r, false), pareto = select_star_pair(r, true);
        if (pareto.kept) {
            EXPECT_TRUE(free.kept);
            EXPECT_EQ(pareto.winner, free.winner);
            EXPECT_EQ(pareto.loser, free.loser);
        }
        refused += free.kept && !pareto.kept;
    }
    EXPECT_GT(refused, 0);
    auto flat = torch::zeros({3, 5}, torch::kDouble);
    EXPECT_FALSE(select_star_pair(flat).kept);
}

}  // namespace
}  // namespace v2a::pairs
