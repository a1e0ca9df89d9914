// Label and sample files: CSV / JSONL parsing, round trips, and every bad input naming file:line.
#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/temp_dir.h"
#include "v2a/core/fs.h"
#include "v2a/score/labels.h"

namespace v2a::score {
namespace {

using v2a::test::expect_error;

std::filesystem::path write(const v2a::test::TempDir& dir, const std::string& name, const std::string& text) {
    const auto p = dir / name;
    fs::write_atomic(p, text);
    return p;
}

TEST(RatingTest, ParsesNamesAndNumbers) {
    EXPECT_EQ(parse_rating("good", "x"), Rating::Good);
    EXPECT_EQ(parse_rating(" Medium ", "x"), Rating::Medium);
    EXPECT_EQ(parse_rating("BAD", "x"), Rating::Bad);
    EXPECT_EQ(parse_rating("0", "x"), Rating::Good);
    EXPECT_EQ(parse_rating("1", "x"), Rating::Medium);
    EXPECT_EQ(parse_rating("2", "x"), Rating::Bad);
    EXPECT_EQ(rating_name(Rating::Medium), "medium");
    expect_error([] { parse_rating("3", "f.csv:7"); }, ErrorKind::Data, "f.csv:7: bad label '3'");
    expect_error([] { parse_rating("", "f.csv:7"); }, ErrorKind::Data, "f.csv:7");
}

TEST(LabelsTest, ReadsCsvWithOptionalAndExtraColumns) {
    v2a::test::TempDir dir;
    const auto p = write(dir, "l.csv",
                         "clip_id,label,annotator,note\r\n"
                         "a__s0,Good,sim0,\"x, y\"\r\n"
                         "\r\n"
                         "a__s1,2,,z\r\n");
    const auto l = read_labels(p);
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0].clip_id, "a__s0");
    EXPECT_EQ(l[0].rating, Rating::Good);
    EXPECT_EQ(l[0].annotator, "sim0");
    EXPECT_EQ(l[1].rating, Rating::Bad);
    EXPECT_EQ(l[1].annotator, "");
    // without an annotator column, and sample_id accepted as the id column
    const auto q = read_labels(write(dir, "q.csv", "sample_id,label\nb__s3,medium\n"));
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].clip_id, "b__s3");
    EXPECT_EQ(q[0].rating, Rating::Medium);
}

TEST(LabelsTest, ReadsJsonl) {
    v2a::test::TempDir dir;
    const auto p = write(dir, "l.jsonl",
                         "{\"clip_id\": \"a__s0\", \"label\": \"bad\", \"annotator\": \"ann\"}\n"
                         "\n"
                         "{\"clip_id\": \"a__s1\", \"label\": 0}\n"
                         "{\"clip_id\": \"a__s2\", \"label\": \"Medium\", \"annotator\": null}\n");
    const auto l = read_labels(p);
    ASSERT_EQ(l.size(), 3u);
    EXPECT_EQ(l[0].rating, Rating::Bad);
    EXPECT_EQ(l[0].annotator, "ann");
    EXPECT_EQ(l[1].rating, Rating::Good);
    EXPECT_EQ(l[2].rating, Rating::Medium);
    EXPECT_EQ(l[2].annotator, "");
}

TEST(LabelsTest, WriteReadRoundTrip) {
    v2a::test::TempDir dir;
    std::vector<LabelRecord> in = {{"a, quoted__s0", Rating::Good, "sim0"}, {"b__s1", Rating::Bad, ""},
                                   {"c__s2", Rating::Medium, "person \"x\""}};
    write_labels(dir / "out.csv", in);
    const auto out = read_labels(dir / "out.csv");
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(out[i].clip_id, in[i].clip_id);
        EXPECT_EQ(out[i].rating, in[i].rating);
        EXPECT_EQ(out[i].annotator, in[i].annotator);
    }
}

TEST(LabelsErrorTest, EveryBadInputNamesFileAndLine) {
    v2a::test::TempDir dir;
    auto csv = [&](const std::string& text) { return write(dir, "bad.csv", text).string(); };
    const std::string f = (dir / "bad.csv").string();
    expect_error([&] { read_labels(csv("clip_id,annotator\na,sim0\n")); }, ErrorKind::Data, f + ":1: missing required column(s): label");
    expect_error([&] { read_labels(csv("label\ngood\n")); }, ErrorKind::Data, f + ":1: missing required column(s): clip_id");
    expect_error([&] { read_labels(csv("clip_id,label\na,good\nb,great\n")); }, ErrorKind::Data, f + ":3: bad label 'great'");
    expect_error([&] { read_labels(csv("clip_id,label\n  ,good\n")); }, ErrorKind::Data, f + ":2: empty clip_id");
    expect_error([&] { read_labels(csv("clip_id,label\na,good,extra\n")); }, ErrorKind::Data, f + ":2: expected 2 fields");
    expect_error([&] { read_labels(csv("")); }, ErrorKind::Data, "empty labels file");
    expect_error([&] { read_labels(csv("clip_id,label,annotator\na,good,p\nb,bad,p\na,bad,p\n")); }, ErrorKind::Data,
                 f + ":4: sample 'a' is rated twice by annotator 'p' (first on line 2)");
    // unknown annotators may repeat (they can be different people)
    EXPECT_EQ(read_labels(csv("clip_id,label\na,good\na,bad\n")).size(), 2u);

    auto jsonl = [&](const std::string& text) { return write(dir, "bad.jsonl", text).string(); };
    const std::string j = (dir / "bad.jsonl").string();
    expect_error([&] { read_labels(jsonl("{\"clip_id\": \"a\", \"label\": \"good\"}\n{not json\n")); }, ErrorKind::Data,
                 j + ":2: not valid JSON");
    expect_error([&] { read_labels(jsonl("{\"clip_id\": \"a\"}\n")); }, ErrorKind::Data, j + ":1: missing \"label\"");
    expect_error([&] { read_labels(jsonl("\n{\"label\": \"good\"}\n")); }, ErrorKind::Data, j + ":2: missing \"clip_id\"");
    expect_error([&] { read_labels(jsonl("{\"clip_id\": \"\", \"label\": 1}\n")); }, ErrorKind::Data, j + ":1: empty clip_id");
    expect_error([&] { read_labels(jsonl("{\"clip_id\": \"a\", \"label\": 7}\n")); }, ErrorKind::Data, j + ":1: bad label '7'");
    expect_error([&] { read_labels(jsonl("{\"clip_id\": \"a\", \"label\": 0.5}\n")); }, ErrorKind::Data, j + ":1: \"label\" must be");
    expect_error([&] { read_labels(jsonl("[1, 2]\n")); }, ErrorKind::Data, j + ":1: expected a JSON object");

    expect_error([&] { read_labels(write(dir, "labels.txt", "x")); }, ErrorKind::Usage, "labels.txt: labels must be .csv or .jsonl");
    expect_error([&] { read_labels(dir / "missing.csv"); }, ErrorKind::IO, "missing.csv");
}

TEST(SamplesTest, RoundTripKeepsPathsRelativeToTheCsv) {
    v2a::test::TempDir dir;
    EXPECT_EQ(sample_id("test_00003", 42), "test_00003__s42");
    std::vector<SampleRecord> in = {{sample_id("c1", 0), "c1", 0, dir / "wav" / "c1__s0.wav"},
                                    {sample_id("c1", 18446744073709551615ULL), "c1", 18446744073709551615ULL,
                                     dir / "wav" / "c1__smax.wav"},
                                    {sample_id("c,2", 5), "c,2", 5, dir / "sub" / "x y.wav"}};
    const auto path = dir / "sub" / "samples.csv";
    std::filesystem::create_directories(path.parent_path());
    write_samples(path, in);
    const auto text = fs::read_text(path);
    EXPECT_EQ(text.rfind("sample_id,clip_id,seed,audio\n", 0), 0u) << text;
    EXPECT_NE(text.find("../wav/c1__s0.wav"), std::string::npos) << text;
    const auto out = read_samples(path);
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(out[i].sample_id, in[i].sample_id);
        EXPECT_EQ(out[i].clip_id, in[i].clip_id);
        EXPECT_EQ(out[i].seed, in[i].seed);
        EXPECT_EQ(out[i].audio, in[i].audio.lexically_normal());
    }
    expect_error([&] { write_samples(dir / "dup.csv", {in[0], in[0]}); }, ErrorKind::Data, "duplicate sample_id");
}

TEST(SamplesErrorTest, EveryBadInputNamesFileAndLine) {
    v2a::test::TempDir dir;
    const auto p = dir / "s.csv";
    const std::string f = p.string();
    auto read = [&](const std::string& text) {
        fs::write_atomic(p, text);
        return read_samples(p);
    };
    const std::string h = "sample_id,clip_id,seed,audio\n";
    expect_error([&] { read("sample_id,clip_id,audio\na,b,x.wav\n"); }, ErrorKind::Data, f + ":1: missing required column(s): seed");
    expect_error([&] { read(h + ",c,0,x.wav\n"); }, ErrorKind::Data, f + ":2: empty sample_id");
    expect_error([&] { read(h + "a,,0,x.wav\n"); }, ErrorKind::Data, f + ":2: empty clip_id");
    expect_error([&] { read(h + "a,c,-1,x.wav\n"); }, ErrorKind::Data, f + ":2: seed '-1'");
    expect_error([&] { read(h + "a,c,99999999999999999999,x.wav\n"); }, ErrorKind::Data, f + ":2: seed '99999999999999999999' is out of range");
    expect_error([&] { read(h + "a,c,1,\n"); }, ErrorKind::Data, f + ":2: empty audio path");
    expect_error([&] { read(h + "a,c,1,x.wav\nb,c,2,y.wav\na,d,3,z.wav\n"); }, ErrorKind::Data,
                 f + ":4: duplicate sample_id 'a' (first on line 2)");
    expect_error([&] { read_samples(dir / "nope.csv"); }, ErrorKind::IO, "nope.csv");
}

}  // namespace
}  // namespace v2a::score
