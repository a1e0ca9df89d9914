// `labels export`: the CSV / JSONL that score::read_labels parses (clip_id,label,annotator first),
// the comparisons CSV, and the registry's muxing of manifest rows that carry an audio column.
#include "fixtures.h"
#include "support/expect_error.h"
#include "v2a/core/jsonl.h"
#include "v2a/io/csv.h"
#include "v2a/serve/label_export.h"
#include "v2a/serve/label_store.h"

namespace v2a::serve::test {
namespace {

void fill(const stdfs::path& db) {
    LabelStore store(db);
    LabelRow r;
    r.clip_id = "dog, barking__s1";   // needs quoting
    r.label = "good";
    r.annotator = "Ana \"A\"";
    r.version = "0123";
    r.response_ms = 850;
    store.add_label(r);
    r.clip_id = "cat__s2";
    r.label = "bad";
    r.annotator = "bob";
    r.response_ms = -1;
    store.add_label(r);
    r.clip_id = "undone__s1";
    store.add_label(r);
    store.undo_label("bob");
    ComparisonRow c;
    c.group = "cat";
    c.left = "cat__s2";
    c.right = "cat__s1";
    c.left_version = "l";
    c.right_version = "r";
    c.choice = "tie";
    c.annotator = "bob";
    store.add_comparison(c);
}

TEST(LabelExportTest, CsvHasTheHeaderScoreReadsAndQuotesFields) {
    v2a::test::TempDir dir;
    fill(dir / "l.sqlite");
    LabelExportOptions o;
    o.db = dir / "l.sqlite";
    o.out = dir / "labels.csv";
    o.comparisons_out = dir / "comparisons.csv";
    const auto s = export_labels(o);
    EXPECT_EQ(s.labels, 2u);
    EXPECT_EQ(s.annotators, 2u);
    EXPECT_EQ(s.comparisons, 1u);
    const auto table = io::parse_csv_table(fs::read_text(o.out), "labels.csv");
    ASSERT_EQ(table.header.fields.size(), 6u);
    EXPECT_EQ(table.header.fields[0], "clip_id");
    EXPECT_EQ(table.header.fields[1], "label");
    EXPECT_EQ(table.header.fields[2], "annotator");
    ASSERT_EQ(table.rows.size(), 2u);
    EXPECT_EQ(table.rows[0].fields[0], "dog, barking__s1");
    EXPECT_EQ(table.rows[0].fields[1], "good");
    EXPECT_EQ(table.rows[0].fields[2], "Ana \"A\"");
    EXPECT_EQ(table.rows[0].fields[5], "850");
    EXPECT_EQ(table.rows[1].fields[5], "");
    const auto comparisons = io::parse_csv_table(fs::read_text(o.comparisons_out), "comparisons.csv");
    ASSERT_EQ(comparisons.rows.size(), 1u);
    EXPECT_EQ(comparisons.rows[0].fields[comparisons.column.at("choice")], "tie");
    EXPECT_EQ(comparisons.rows[0].fields[comparisons.column.at("winner")], "");
}

TEST(LabelExportTest, JsonlHasTheSameKeys) {
    v2a::test::TempDir dir;
    fill(dir / "l.sqlite");
    LabelExportOptions o;
    o.db = dir / "l.sqlite";
    o.out = dir / "labels.jsonl";
    export_labels(o);
    const auto rows = read_jsonl(o.out);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0]["clip_id"], "dog, barking__s1");
    EXPECT_EQ(rows[0]["label"], "good");
    EXPECT_EQ(rows[0]["annotator"], "Ana \"A\"");
    EXPECT_EQ(rows[0]["response_ms"], 850);
    EXPECT_TRUE(rows[1]["response_ms"].is_null());
    EXPECT_EQ(rows[1]["time"].get<std::string>().back(), 'Z');
}

TEST(LabelExportTest, NamedErrors) {
    v2a::test::TempDir dir;
    fill(dir / "l.sqlite");
    LabelExportOptions o;
    o.db = dir / "l.sqlite";
    o.out = dir / "labels.txt";
    v2a::test::expect_error([&] { export_labels(o); }, ErrorKind::Usage, "labels.txt");
    o.db = dir / "missing.sqlite";
    o.out = dir / "labels.csv";
    v2a::test::expect_error([&] { export_labels(o); }, ErrorKind::IO, "missing.sqlite");
    EXPECT_FALSE(stdfs::exists(dir / "missing.sqlite"));   // an export never creates a database
}

TEST(ClipRegistryTest, RowsWithAnAudioColumnAreMuxedOnce) {
    v2a::test::TempDir dir;
    write_clip(dir / "video.mp4", 0);
    io::Audio tone;
    tone.sample_rate = 16000;
    tone.samples.assign(16000, 0.1f);
    io::write_audio_file(dir / "gen.wav", tone);
    fs::write_atomic(dir / "m.csv", std::string("id,video,caption,label,split,audio\n"
                                                "v__s1,video.mp4,a cap,x,test,gen.wav\n"
                                                "v__s2,video.mp4,a cap,x,test,\n"));
    ClipRegistryOptions o;
    o.manifest = dir / "m.csv";
    o.media_cache = dir / "cache";
    auto r = ClipRegistry::load(o);
    ASSERT_EQ(r.size(), 2u);
    const auto& muxed = r.clips()[0];
    EXPECT_EQ(muxed.media.parent_path(), dir / "cache");
    const auto info = io::probe(muxed.media);
    EXPECT_TRUE(info.has_video && info.has_audio);
    EXPECT_EQ(r.clips()[1].media, dir / "video.mp4");   // no audio cell: served as it is
    EXPECT_NE(r.clips()[0].version, r.clips()[1].version);
    ASSERT_EQ(r.groups().size(), 1u);
    const auto when = stdfs::last_write_time(muxed.media);
    auto again = ClipRegistry::load(o);   // cached: not muxed again
    EXPECT_EQ(stdfs::last_write_time(again.clips()[0].media), when);
    EXPECT_EQ(again.clips()[0].version, muxed.version);
}

}  // namespace
}  // namespace v2a::serve::test
