#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/manifest.h"

namespace v2a::io {
namespace {

namespace stdfs = std::filesystem;

stdfs::path write(const test::TempDir& dir, const std::string& name, const std::string& text) {
    const auto path = dir / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

// Reads `text` as a manifest file and expects v2a::Error(Data) naming the file and holding each needle.
void expect_error(const std::string& text, const std::vector<std::string>& needles, bool check_files = false) {
    test::TempDir dir;
    const auto path = write(dir, "m.csv", text);
    try {
        read_manifest(path, {check_files});
        ADD_FAILURE() << "no error; wanted " << needles.front();
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(e.kind(), ErrorKind::Data) << msg;
        EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
        for (const auto& needle : needles) EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
}

const char* kHeader = "id,video,caption,label,split\n";

TEST(ManifestTest, ParsesQuotingPathsAndExtraColumns) {
    test::TempDir dir;
    const std::string text =
        "\xEF\xBB\xBF"  // BOM from a spreadsheet export
        "id,video,caption,label,split,audio,youtube_start\r\n"
        "a1,clips/a1.mp4,\"a dog barks, then \"\"woof\"\"\",dog barking,train,audio/a1.wav,30\r\n"
        "\r\n"
        "b2,/abs/b2.mp4,\"two\nlines\",rain,val,,0\n"
        "c3,c3.mp4,plain caption,caf\xC3\xA9 music,test,,5";  // no final newline
    const auto path = write(dir, "m.csv", text);
    const Manifest m = read_manifest(path);
    ASSERT_EQ(m.rows.size(), 3u);
    EXPECT_EQ(m.path, path);
    EXPECT_EQ(m.rows[0].id, "a1");
    EXPECT_EQ(m.rows[0].caption, "a dog barks, then \"woof\"");
    EXPECT_EQ(m.rows[0].label, "dog barking");
    EXPECT_EQ(m.rows[0].split, Split::Train);
    EXPECT_EQ(m.rows[0].video, dir.path() / "clips/a1.mp4");
    ASSERT_TRUE(m.rows[0].audio.has_value());
    EXPECT_EQ(*m.rows[0].audio, dir.path() / "audio/a1.wav");
    EXPECT_EQ(m.rows[0].line, 2);
    EXPECT_EQ(m.rows[1].video, stdfs::path("/abs/b2.mp4"));
    EXPECT_EQ(m.rows[1].caption, "two\nlines");
    EXPECT_FALSE(m.rows[1].audio.has_value());
    EXPECT_EQ(m.rows[1].line, 4);
    EXPECT_EQ(m.rows[2].line, 6);  // the caption above spans two lines
    EXPECT_EQ(m.rows[2].label, "caf\xC3\xA9 music");
    EXPECT_EQ(m.rows[2].split, Split::Test);

    EXPECT_EQ(m.filter(Split::Val).rows.size(), 1u);
    EXPECT_EQ(m.filter(Split::Val).rows[0].id, "b2");
    EXPECT_EQ(m.filter(Split::Train).rows[0].id, "a1");
    ASSERT_NE(m.find("c3"), nullptr);
    EXPECT_EQ(m.find("zz"), nullptr);
}

TEST(ManifestTest, WriterQuotesExactlyAndRoundTrips) {
    test::TempDir dir;
    std::vector<ManifestRow> rows(2);
    rows[0].id = "x";
    rows[0].video = dir.path() / "v" / "x.mp4";
    rows[0].caption = "say \"hi\", twice";
    rows[0].label = "speech";
    rows[0].split = Split::Val;
    rows[1].id = "y";
    rows[1].video = dir.path() / "y.mp4";
    rows[1].caption = " padded ";
    rows[1].label = "a\nb";
    rows[1].split = Split::Test;
    rows[1].audio = dir.path() / "y.wav";
    EXPECT_EQ(format_manifest(rows, dir.path()),
              "id,video,caption,label,split,audio\n"
              "x,v/x.mp4,\"say \"\"hi\"\", twice\",speech,val,\n"
              "y,y.mp4,\" padded \",\"a\nb\",test,y.wav\n");

    const auto path = dir / "sub" / "out.csv";
    write_manifest(path, rows);
    const Manifest back = read_manifest(path);
    ASSERT_EQ(back.rows.size(), 2u);
    for (size_t k = 0; k < rows.size(); ++k) {
        EXPECT_EQ(back.rows[k].id, rows[k].id);
        EXPECT_EQ(back.rows[k].video, rows[k].video);  // written as ../v/x.mp4, resolved back
        EXPECT_EQ(back.rows[k].caption, rows[k].caption);
        EXPECT_EQ(back.rows[k].label, rows[k].label);
        EXPECT_EQ(back.rows[k].split, rows[k].split);
        EXPECT_EQ(back.rows[k].audio, rows[k].audio);
    }
    EXPECT_NE(fs::read_text(path).find("../v/x.mp4"), std::string::npos);

    rows[1].id = "x";
    EXPECT_THROW(write_manifest(dir / "dup.csv", rows), Error);
    EXPECT_FALSE(stdfs::exists(dir / "dup.csv"));
}

TEST(ManifestTest, CheckFilesAcceptsExistingFiles) {
    test::TempDir dir;
    write(dir, "a.mp4", "x");
    write(dir, "a.wav", "x");
    const auto path = write(dir, "m.csv", "id,video,caption,label,split,audio\na,a.mp4,c,l,train,a.wav\n");
    EXPECT_EQ(read_manifest(path, {true}).rows.size(), 1u);
}

TEST(ManifestTest, FeaturesColumnResolvesChecksAndRoundTrips) {
    // MMAudio feature files per clip (generate with a converted network): optional, like audio.
    test::TempDir dir;
    write(dir, "a.mp4", "x");
    write(dir, "a.safetensors", "x");
    const auto path = write(dir, "m.csv",
                            "id,video,caption,label,split,features\na,a.mp4,c,l,test,a.safetensors\nb,a.mp4,c,l,test,\n");
    const Manifest m = read_manifest(path, {true});
    ASSERT_EQ(m.rows.size(), 2u);
    ASSERT_TRUE(m.rows[0].features.has_value());
    EXPECT_EQ(*m.rows[0].features, dir.path() / "a.safetensors");
    EXPECT_FALSE(m.rows[1].features.has_value());
    EXPECT_EQ(format_manifest(m.rows, dir.path()),
              "id,video,caption,label,split,features\na,a.mp4,c,l,test,a.safetensors\nb,a.mp4,c,l,test,\n");
    write_manifest(dir / "sub" / "copy.csv", m.rows);
    EXPECT_EQ(read_manifest(dir / "sub" / "copy.csv").rows[0].features, m.rows[0].features);
    const auto bad = write(dir, "bad.csv", "id,video,caption,label,split,features\na,a.mp4,c,l,test,gone.safetensors\n");
    try {
        read_manifest(bad, {true});
        FAIL() << "a missing features file was accepted";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(bad.string() + ":2: features file"), std::string::npos) << msg;
        EXPECT_NE(msg.find("gone.safetensors"), std::string::npos) << msg;
    }
}

TEST(ManifestErrorTest, MissingRequiredColumnsAreNamed) {
    expect_error("id,video,label\na,a.mp4,l\n", {":1:", "caption, split"});
}

TEST(ManifestErrorTest, DuplicateIdNamesBothLines) {
    expect_error(std::string(kHeader) + "a,a.mp4,c,l,train\nb,b.mp4,c,l,train\na,c.mp4,c,l,val\n",
                 {":4:", "duplicate id 'a'", "first on line 2"});
}

TEST(ManifestErrorTest, IdsThatWouldEscapeTheirFolderAreRefused) {
    // Ids become <out-dir>/<id>.wav: no separator, no "..", no control character, bounded length.
    expect_error(std::string(kHeader) + "../x,a.mp4,c,l,train\n", {":2:", "'../x'", "path separator"});
    expect_error(std::string(kHeader) + "/abs/path,a.mp4,c,l,train\n", {":2:", "path separator"});
    expect_error(std::string(kHeader) + "a\\b,a.mp4,c,l,train\n", {":2:", "path separator"});
    expect_error(std::string(kHeader) + "..,a.mp4,c,l,train\n", {":2:", "names a folder"});
    expect_error(std::string(kHeader) + "\"a\tb\",a.mp4,c,l,train\n", {":2:", "control character"});
    expect_error(std::string(kHeader) + std::string(201, 'x') + ",a.mp4,c,l,train\n", {":2:", "1-200 bytes"});
    // What is allowed: dots, spaces, unicode, dashes.
    EXPECT_NO_THROW(check_file_id("clip.v2 - é_01", "t"));
}

TEST(ManifestErrorTest, MissingVideoFileWhenChecking) {
    expect_error(std::string(kHeader) + "a,nothere.mp4,c,l,train\n", {":2:", "nothere.mp4", "does not exist"}, true);
}

TEST(ManifestErrorTest, MissingAudioFileWhenChecking) {
    test::TempDir dir;
    write(dir, "a.mp4", "x");
    const auto path = write(dir, "m.csv", "id,video,caption,label,split,audio\na,a.mp4,c,l,train,gone.wav\n");
    try {
        read_manifest(path, {true});
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("gone.wav"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(path.string() + ":2:"), std::string::npos) << e.what();
    }
}

TEST(ManifestErrorTest, BadUtf8NamesLine) {
    expect_error(std::string(kHeader) + "a,a.mp4,ok,l,train\nb,b.mp4,bad \xC3\x28 byte,l,train\n",
                 {":3:", "UTF-8"});
}

TEST(ManifestErrorTest, EmptyId) { expect_error(std::string(kHeader) + " ,a.mp4,c,l,train\n", {":2:", "empty id"}); }

TEST(ManifestErrorTest, UnknownSplit) {
    expect_error(std::string(kHeader) + "a,a.mp4,c,l,dev\n", {":2:", "unknown split 'dev'", "train, val or test"});
}

TEST(ManifestErrorTest, WrongFieldCount) {
    expect_error(std::string(kHeader) + "a,a.mp4,c,l,train\nb,b.mp4,a, comma,l,train\n",
                 {":3:", "expected 5 fields", "got 6"});
}

TEST(ManifestErrorTest, UnterminatedQuote) {
    expect_error(std::string(kHeader) + "a,a.mp4,\"never closed,l,train\n", {":2:", "never closed"});
}

TEST(ManifestErrorTest, StrayQuote) {
    expect_error(std::string(kHeader) + "a,a.mp4,say \"hi\",l,train\n", {":2:", "quote inside an unquoted field"});
    expect_error(std::string(kHeader) + "a,a.mp4,\"hi\"x,l,train\n", {":2:", "after a closing quote"});
}

TEST(ManifestErrorTest, EmptyFileAndDuplicateColumn) {
    expect_error("", {"empty manifest"});
    expect_error("id,video,caption,label,split,id\n", {"column 'id' appears twice"});
}

TEST(ManifestErrorTest, MissingManifestIsIoError) {
    try {
        read_manifest("/nonexistent/m.csv");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::IO);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/m.csv"), std::string::npos);
    }
}

}  // namespace
}  // namespace v2a::io
