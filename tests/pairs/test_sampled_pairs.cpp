// Building pair sets from a model's samples (untrained tiny models): every video ends in a pair or
// a logged rejection, a re-run resumes without redoing work, shards merge into the set a single job
// makes, and human pairs come from a Good and a Bad rating of the same video.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_error.h"
#include "support/tiny_pipeline.h"
#include "v2a/core/jsonl.h"
#include "v2a/io/media.h"
#include "v2a/pairs/sampled_pairs.h"

namespace v2a::pairs {
namespace {

SampledPairOptions small_options() {
    SampledPairOptions o;
    o.samples_per_video = 3;
    o.videos_per_chunk = 2;
    o.generate.sampler.steps = 2;
    return o;
}

int64_t lines(const std::filesystem::path& dir) {
    int64_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".jsonl") n += int64_t(read_jsonl(e.path()).size());
    }
    return n;
}

TEST(SampledPairsTest, EveryVideoIsDoneOnceAndShardsMergeToTheSameSet) {
    test::TinyPipeline tiny(true);
    auto pipeline = flow::Pipeline::load(tiny.generator, tiny.vae);
    auto scorer = score::AudioScorer::load(tiny.judges, tiny.audioscore);
    const auto one = tiny.dir / "one";
    auto summary = build_sampled_pairs(pipeline, &scorer, *tiny.clips, one, small_options());
    EXPECT_EQ(lines(one), 4);   // 4 videos: each a pair or a rejection line
    // Resume: nothing left to do.
    auto again = build_sampled_pairs(pipeline, &scorer, *tiny.clips, one, small_options());
    EXPECT_EQ(again["pairs_written_now"], 0);
    EXPECT_EQ(lines(one), 4);
    // Two shards of the same job give the same pairs and latents.
    const auto two = tiny.dir / "two";
    for (int i = 0; i < 2; ++i) {
        auto o = small_options();
        o.shard_index = i;
        o.shard_count = 2;
        build_sampled_pairs(pipeline, &scorer, *tiny.clips, two, o);
    }
    EXPECT_EQ(lines(two), 4);
    if (summary["pairs_written_now"].get<int64_t>() > 0) {
        auto a = PairSet::load(one), b = PairSet::load(two);
        ASSERT_EQ(a.size(), b.size());
        for (int64_t i = 0; i < a.size(); ++i) {
            int64_t j = 0;
            while (b[j].pair_id != a[i].pair_id) ++j;
            EXPECT_EQ(a[i].winner.seed, b[j].winner.seed);
            EXPECT_TRUE(torch::allclose(a.winners({i}), b.winners({j}), 1e-5, 1e-6)) << a[i].pair_id;
            EXPECT_NEAR(a[i].complexity, b[j].complexity, 1e-6);
        }
    }
}

TEST(SampledPairsTest, HumanPairsJoinAGoodAndABadOfOneVideo) {
    test::TinyPipeline tiny(false);
    auto pipeline = flow::Pipeline::load(tiny.generator, tiny.vae);
    std::vector<score::SampleRecord> samples;
    std::vector<score::LabelRecord> labels;
    for (int s = 0; s < 3; ++s) {
        score::SampleRecord r{score::sample_id("clip1", uint64_t(s)), "clip1", uint64_t(s),
                              tiny.dir / ("clip1_" + std::to_string(s) + ".wav")};
        io::Audio a;
        a.sample_rate = 16000;
        auto w = (*tiny.clips)[1].audio * (0.3f * float(s + 1));
        a.samples.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
        io::write_audio_file(r.audio, a);
        samples.push_back(r);
    }
    // Sample 0: Good by majority; sample 2: Bad (2 of 3); sample 1: a tie -> Medium.
    labels = {{samples[0].sample_id, score::Rating::Good, "a"}, {samples[0].sample_id, score::Rating::Good, "b"},
              {samples[1].sample_id, score::Rating::Good, "a"}, {samples[1].sample_id, score::Rating::Bad, "b"},
              {samples[2].sample_id, score::Rating::Bad, "a"},  {samples[2].sample_id, score::Rating::Bad, "b"},
              {samples[2].sample_id, score::Rating::Good, "c"}};
    auto summary = build_human_pairs(pipeline, *tiny.clips, samples, labels, tiny.dir / "human", 2);
    EXPECT_EQ(summary["human_pairs_written_now"], 1);
    auto set = PairSet::load(tiny.dir / "human");
    ASSERT_EQ(set.size(), 1);
    EXPECT_EQ(set[0].source, "human");
    EXPECT_EQ(set[0].winner.sample_id, samples[0].sample_id);
    EXPECT_EQ(set[0].loser.sample_id, samples[2].sample_id);
    EXPECT_DOUBLE_EQ(set[0].complexity, 0.0);
    EXPECT_EQ(set.winners({0}).sizes(), torch::IntArrayRef({1, tiny.tokens, test::TinyPipeline::kChannels}));
    // Resumable per clip: a second call adds nothing.
    EXPECT_EQ(build_human_pairs(pipeline, *tiny.clips, samples, labels, tiny.dir / "human", 2)["human_pairs_written_now"],
              0);
}

TEST(SampledPairsTest, BadOptionsAreUsageErrors) {
    test::TinyPipeline tiny(true);
    auto pipeline = flow::Pipeline::load(tiny.generator, tiny.vae);
    auto scorer = score::AudioScorer::load(tiny.judges, tiny.audioscore);
    auto o = small_options();
    o.samples_per_video = 1;
    test::expect_error([&] { build_sampled_pairs(pipeline, &scorer, *tiny.clips, tiny.dir / "x", o); }, ErrorKind::Usage,
                       "at least 2 samples");
    test::expect_error([] { parse_ranking("best"); }, ErrorKind::Usage, "audioscore, star, oracle or gt-vs-sample");
    o.samples_per_video = 3;
    test::expect_error([&] { build_sampled_pairs(pipeline, nullptr, *tiny.clips, tiny.dir / "y", o); }, ErrorKind::Usage,
                       "need the scorer");
    test::expect_error([] { select_by_score({0.5}); }, ErrorKind::Usage, "at least 2");
    test::expect_error([] { select_by_score({0.5, std::nan("")}); }, ErrorKind::Usage, "score");
}

TEST(SelectByScoreTest, BestAgainstWorstWithTheGapAsComplexity) {
    auto s = select_by_score({0.4, 0.9, 0.1, 0.9});
    EXPECT_TRUE(s.kept);
    EXPECT_EQ(s.winner, 1);  // first of the tied best
    EXPECT_EQ(s.loser, 2);
    EXPECT_NEAR(s.complexity, 0.8, 1e-12);
    auto tie = select_by_score({0.3, 0.3});
    EXPECT_FALSE(tie.kept);
    EXPECT_EQ(tie.rejected, "no score gap");
    auto small = select_by_score({0.3, 0.35}, 0.1);
    EXPECT_FALSE(small.kept);
    EXPECT_EQ(small.rejected, "margin");
}

TEST(SampledPairsTest, GroundTruthWinsOverEverySampleThroughTheSameEncoder) {
    test::TinyPipeline tiny(false);
    auto pipeline = flow::Pipeline::load(tiny.generator, tiny.vae);
    auto o = small_options();
    o.ranking = Ranking::GtVsSample;
    o.samples_per_video = 2;
    auto summary = build_sampled_pairs(pipeline, nullptr, *tiny.clips, tiny.dir / "gt", o);
    EXPECT_EQ(summary["pairs_written_now"], 8);  // 4 videos x K = 2, none rejected
    auto set = PairSet::load(tiny.dir / "gt");
    ASSERT_EQ(set.size(), 8);
    for (int64_t i = 0; i < set.size(); ++i) {
        EXPECT_EQ(set[i].source, "gt");
        EXPECT_EQ(set[i].winner.sample_id, "ground_truth");
        EXPECT_DOUBLE_EQ(set[i].complexity, 1.0);
    }
    // The winner is the clip's audio through the VAE encoder; the loser is the sample re-encoded.
    int64_t row = 0;
    while (set[row].pair_id != "clip1#g1") ++row;
    const auto truth = pipeline.audio_to_latents((*tiny.clips)[1].audio.unsqueeze(0));
    EXPECT_TRUE(torch::allclose(set.winners({row}), truth, 1e-5, 1e-6));
    flow::GenerateOptions go = o.generate;
    const auto sample = pipeline.sample_latents_seeded((*tiny.clips).frames({1}), {(*tiny.clips)[1].caption},
                                                       {flow::noise_seed("clip1", 1)}, go);
    EXPECT_TRUE(torch::allclose(set.losers({row}), pipeline.reencode_latents(sample), 1e-4, 1e-5));
    EXPECT_FALSE(torch::allclose(set.losers({row}), sample, 1e-3, 1e-3));  // re-encoding changed it
}

TEST(SampledPairsTest, OraclePairsRankByTheSimulatedAnnotatorsQuality) {
    test::TinyPipeline tiny(false);
    auto pipeline = flow::Pipeline::load(tiny.generator, tiny.vae);
    auto o = small_options();
    o.ranking = Ranking::Oracle;
    build_sampled_pairs(pipeline, nullptr, *tiny.clips, tiny.dir / "oracle", o);
    auto set = PairSet::load(tiny.dir / "oracle");
    const auto rejected_file = tiny.dir / "oracle" / "pairs-rejected-0of1.jsonl";
    const int64_t rejected = std::filesystem::exists(rejected_file) ? int64_t(read_jsonl(rejected_file).size()) : 0;
    EXPECT_EQ(set.size() + rejected, 4);
    ASSERT_GT(set.size(), 0);
    for (int64_t i = 0; i < set.size(); ++i) {
        EXPECT_EQ(set[i].source, "oracle");
        ASSERT_EQ(set[i].candidates.size(), 3u);
        // Winner and loser are the best and worst candidates by quality, the gap is the complexity.
        double best = -1, worst = 2;
        for (const auto& c : set[i].candidates) best = std::max(best, c.score), worst = std::min(worst, c.score);
        EXPECT_DOUBLE_EQ(set[i].winner.score, best);
        EXPECT_DOUBLE_EQ(set[i].loser.score, worst);
        EXPECT_NEAR(set[i].complexity, best - worst, 1e-12);
        EXPECT_GT(set[i].complexity, 0.0);
    }
}

}  // namespace
}  // namespace v2a::pairs
