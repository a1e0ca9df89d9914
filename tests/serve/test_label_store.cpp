// The label store on its own: the schema and its guards, persistence across reopen, undo keeping
// history, and the assignment order (fewest labels first, spread across annotators).
#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/temp_dir.h"
#include "v2a/core/fs.h"
#include "v2a/serve/assignment.h"
#include "v2a/serve/label_store.h"
#include "v2a/serve/request_error.h"
#include "v2a/serve/sqlite.h"

namespace v2a::serve {
namespace {

LabelRow row(const std::string& clip, const std::string& label, const std::string& who, const std::string& request = "") {
    LabelRow r;
    r.clip_id = clip;
    r.label = label;
    r.annotator = who;
    r.version = "v1";
    r.request_id = request;
    return r;
}

TEST(LabelStoreTest, PersistsAcrossReopenInWalMode) {
    test::TempDir dir;
    {
        LabelStore store(dir / "l.sqlite");
        store.add_annotator("ana");
        store.add_label(row("x", "good", "ana"));
        store.add_label(row("y", "bad", "ana"));
    }
    LabelStore again(dir / "l.sqlite");
    const auto labels = again.labels();
    ASSERT_EQ(labels.size(), 2u);
    EXPECT_EQ(labels[0].clip_id, "x");
    EXPECT_EQ(labels[1].label, "bad");
    EXPECT_EQ(labels[0].response_ms, -1);
    EXPECT_EQ(labels[0].time.size(), 24u);   // 2024-05-01T12:00:00.123Z
    EXPECT_EQ(again.annotators(), std::vector<std::string>{"ana"});
    Database db(dir / "l.sqlite");
    auto mode = db.prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode.step());
    EXPECT_EQ(mode.text(0), "wal");
}

TEST(LabelStoreTest, OneLabelPerAnnotatorAndClipUntilUndone) {
    test::TempDir dir;
    LabelStore store(dir / "l.sqlite");
    store.add_label(row("x", "good", "ana"));
    store.add_label(row("x", "bad", "bob"));
    try {
        store.add_label(row("x", "medium", "ana"));
        FAIL() << "no conflict";
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), 409);
    }
    const auto undone = store.undo_label("ana");
    ASSERT_TRUE(undone);
    EXPECT_EQ(undone->clip_id, "x");
    store.add_label(row("x", "medium", "ana"));
    EXPECT_EQ(store.labels().size(), 2u);
    EXPECT_EQ(store.labels(true).size(), 3u);
    EXPECT_EQ(store.label_counts().at("x"), 2);
    EXPECT_EQ(store.done_by("ana", "rate"), 1);
    EXPECT_FALSE(store.undo_label("nobody"));
    // A value outside good|medium|bad is refused by the schema itself.
    EXPECT_THROW(store.add_label(row("y", "great", "ana")), Error);
}

TEST(LabelStoreTest, RequestIdsMakeWritesIdempotent) {
    test::TempDir dir;
    LabelStore store(dir / "l.sqlite");
    const auto a = store.add_label(row("x", "good", "ana", "req"));
    const auto b = store.add_label(row("x", "good", "ana", "req"));
    EXPECT_FALSE(a.replayed);
    EXPECT_TRUE(b.replayed);
    EXPECT_EQ(a.id, b.id);
    EXPECT_THROW(store.add_label(row("y", "good", "ana", "req")), RequestError);
    EXPECT_EQ(store.labels().size(), 1u);
}

TEST(LabelStoreTest, RefusesForeignAndNewerDatabases) {
    test::TempDir dir;
    {
        Database other(dir / "other.sqlite");
        other.exec("CREATE TABLE people(name TEXT)");
    }
    test::expect_error([&] { LabelStore s(dir / "other.sqlite"); }, ErrorKind::Data, "not a v2a labels database");
    {
        Database newer(dir / "newer.sqlite");
        newer.exec("PRAGMA user_version = 99");
    }
    test::expect_error([&] { LabelStore s(dir / "newer.sqlite"); }, ErrorKind::Data, "newer");
    fs::write_atomic(dir / "text.sqlite", std::string("this is not a database, just text that is long enough to matter"));
    test::expect_error([&] { LabelStore s(dir / "text.sqlite"); }, ErrorKind::IO, "text.sqlite");
    DatabaseOptions no_create;
    no_create.create = false;
    test::expect_error([&] { LabelStore s(dir / "missing.sqlite", no_create); }, ErrorKind::IO, "no such database");
}

TEST(LabelStoreTest, SkipsAndComparisonsAreTracked) {
    test::TempDir dir;
    LabelStore store(dir / "l.sqlite");
    store.add_skip("ana", "rate", "x");
    store.add_skip("ana", "rate", "x");   // twice is once
    store.add_label(row("y", "good", "ana"));
    EXPECT_EQ(store.seen_by("ana", "rate"), (std::set<std::string>{"x", "y"}));
    EXPECT_TRUE(store.seen_by("bob", "rate").empty());
    ComparisonRow c;
    c.group = "g";
    c.left = "g__s2";
    c.right = "g__s1";
    c.left_version = c.right_version = "v";
    c.choice = "left";
    c.winner = "g__s2";
    c.annotator = "ana";
    store.add_comparison(c);
    EXPECT_EQ(store.comparison_counts().at(pair_key("g__s1", "g__s2")), 1);
    EXPECT_EQ(store.seen_by("ana", "compare"), (std::set<std::string>{pair_key("g__s1", "g__s2")}));
    std::swap(c.left, c.right);   // the same pair in the other order is the same judgement
    EXPECT_THROW(store.add_comparison(c), RequestError);
    ASSERT_TRUE(store.undo_comparison("ana"));
    EXPECT_TRUE(store.comparisons().empty());
    EXPECT_EQ(store.comparisons(true).size(), 1u);
}

TEST(AssignmentTest, FewestLabelsFirstAndSpreadAcrossAnnotators) {
    std::vector<Clip> clips;
    for (int i = 0; i < 20; ++i) {
        Clip c;
        c.id = "c" + std::to_string(i);
        c.group = c.id;
        clips.push_back(c);
    }
    ClipRegistry registry(clips);
    std::map<std::string, int64_t> counts;
    for (int i = 0; i < 19; ++i) counts["c" + std::to_string(i)] = 1;
    // The one clip nobody rated comes first, for everyone.
    EXPECT_EQ(registry.clips()[*next_clip(registry, counts, {}, "ana", 3)].id, "c19");
    EXPECT_EQ(registry.clips()[*next_clip(registry, counts, {}, "bob", 3)].id, "c19");
    // Among equals, different annotators start on different clips.
    std::set<size_t> firsts;
    for (int k = 0; k < 8; ++k) firsts.insert(*next_clip(registry, {}, {}, "ann" + std::to_string(k), 3));
    EXPECT_GE(firsts.size(), 5u);
    // Seen or full clips are never handed out.
    for (int i = 0; i < 20; ++i) counts["c" + std::to_string(i)] = 3;
    EXPECT_FALSE(next_clip(registry, counts, {}, "ana", 3));
    const auto r = remaining_clips(registry, counts, {}, 3);
    EXPECT_EQ(r.complete, 20);
    EXPECT_EQ(r.for_annotator, 0);
}

TEST(ClipRegistryTest, VersionsGroupByIdPrefix) {
    EXPECT_EQ(split_clip_id("dog__s42"), (std::pair<std::string, std::string>{"dog", "s42"}));
    EXPECT_EQ(split_clip_id("a__b__s1"), (std::pair<std::string, std::string>{"a__b", "s1"}));
    EXPECT_EQ(split_clip_id("plain"), (std::pair<std::string, std::string>{"plain", ""}));
    EXPECT_EQ(split_clip_id("__x"), (std::pair<std::string, std::string>{"__x", ""}));
    EXPECT_EQ(split_clip_id("x__"), (std::pair<std::string, std::string>{"x__", ""}));
    std::vector<Clip> clips;
    for (const std::string id : {"a__s1", "b", "a__s2", "c__s1"}) {
        Clip c;
        c.id = id;
        std::tie(c.group, c.variant) = split_clip_id(id);
        clips.push_back(c);
    }
    ClipRegistry r(clips);
    ASSERT_EQ(r.groups().size(), 1u);   // c has one version only
    EXPECT_EQ(r.groups()[0], (std::vector<size_t>{0, 2}));
    EXPECT_EQ(r.find("b")->id, "b");
    EXPECT_EQ(r.find("../b"), nullptr);
    clips.push_back(clips[0]);
    test::expect_error([&] { ClipRegistry dup(clips); }, ErrorKind::Data, "duplicate id a__s1");
}

}  // namespace
}  // namespace v2a::serve
