// Concurrent annotators: many clients rating at once (each walking /api/rate/next) never lose or
// duplicate a label, and each clip ends with exactly the target number of raters; racing the same (annotator, clip) gives exactly one label and 409s; retries
// of one request id give one label.
#include <atomic>

#include "fixtures.h"
#include "v2a/serve/label_store.h"

namespace v2a::serve::test {
namespace {

TEST(ConcurrencyTest, ParallelAnnotatorsKeepEveryLabelOnce) {
    v2a::test::TempDir dir;
    ServerOptions o;
    o.db = dir / "labels.sqlite";
    o.raters_per_clip = 3;
    RunningServer server(o, dummy_clips(dir.path(), 30));
    constexpr int kAnnotators = 8;
    std::atomic<int> created{0}, conflicts{0}, failures{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < kAnnotators; ++k) {
        threads.emplace_back([&, k] {
            auto c = server.client();
            const std::string who = "ann" + std::to_string(k);
            for (;;) {
                auto next = post_json(c, "/api/rate/next", {{"annotator", who}});
                if (next.status != 200) return void(++failures);
                if (next.body["done"].get<bool>()) return;
                auto r = post_json(c, "/api/labels", {{"annotator", who}, {"clip_id", next.body["clip"]["id"]}, {"label", "good"}});
                if (r.status == 201) ++created;
                else if (r.status == 409) ++conflicts;
                else return void(++failures);
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(conflicts, 0);   // an annotator is never handed a clip they rated
    const auto labels = server.server().store().labels();
    EXPECT_EQ(int(labels.size()), created.load());
    std::set<std::pair<std::string, std::string>> unique;
    for (const auto& l : labels) EXPECT_TRUE(unique.emplace(l.annotator, l.clip_id).second);
    // Every clip got exactly the target: a clip on one annotator's screen is not handed to another.
    const auto counts = server.server().store().label_counts();
    EXPECT_EQ(counts.size(), 30u);
    for (const auto& [clip, n] : counts) EXPECT_EQ(n, 3) << clip;
}

TEST(ConcurrencyTest, RacingTheSameLabelGivesExactlyOne) {
    v2a::test::TempDir dir;
    ServerOptions o;
    o.db = dir / "labels.sqlite";
    RunningServer server(o, dummy_clips(dir.path(), 4));
    std::atomic<int> created{0}, conflicts{0}, replayed{0}, other{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < 16; ++k) {
        threads.emplace_back([&, k] {
            auto c = server.client();
            // Half the requests are retries of one request id, half are fresh attempts.
            json body{{"annotator", "ana"}, {"clip_id", "clip1"}, {"label", "bad"}};
            if (k % 2) body["request_id"] = "same-request";
            auto r = post_json(c, "/api/labels", body);
            // No answer at all (a connection dropped under load): retry once, as the page does.
            if (r.status == 0) r = post_json(c, "/api/labels", body);
            if (r.status == 201) ++created;
            else if (r.status == 409) ++conflicts;
            else if (r.status == 200 && r.body["replayed"].get<bool>()) ++replayed;
            else {
                ++other;
                ADD_FAILURE() << "status " << r.status << " " << r.text;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(created, 1);
    EXPECT_EQ(other, 0);
    EXPECT_EQ(created + conflicts + replayed, 16);
    EXPECT_EQ(server.server().store().labels().size(), 1u);
}

}  // namespace
}  // namespace v2a::serve::test
