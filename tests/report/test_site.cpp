// `v2a report`'s site: the right clips and pages, media that decode, links that stay inside the site,
// intervals that mean something, stand-ins named, re-runs that reuse media, and a named error for each
// kind of bad input.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "site_fixture.h"
#include "support/expect_error.h"
#include "v2a/io/image.h"
#include "v2a/report/plot.h"
#include "v2a/report/spectrogram_image.h"

namespace v2a::report {
namespace {

using test::SiteFixture;

std::vector<std::string> links(const std::string& html) {
    std::vector<std::string> out;
    static const std::regex attr(R"((?:src|href|poster)=\"([^\"]*)\")");
    for (std::sregex_iterator it(html.begin(), html.end(), attr), end; it != end; ++it) out.push_back((*it)[1]);
    return out;
}

TEST(ReportSiteTest, ClipsEverySystemHasOnPagesOfTheGivenSize) {
    SiteFixture f;
    auto o = f.options();
    o.page_size = 1;
    const auto s = write_site(o);
    // System B has no audio for clip_c: the rows are the first clips every system has.
    EXPECT_EQ(s.clips, 2);
    EXPECT_EQ(s.pages, 2);
    EXPECT_TRUE(std::filesystem::exists(o.out / "clips_1.html"));
    EXPECT_TRUE(std::filesystem::exists(o.out / "clips_2.html"));
    EXPECT_FALSE(std::filesystem::exists(o.out / "clips_3.html"));
    const auto page1 = fs::read_text(o.out / "clips_1.html");
    EXPECT_NE(page1.find("clip_a"), std::string::npos);
    EXPECT_EQ(page1.find("clip_b"), std::string::npos);
    // One cell per column: ground truth, A, sys_b.
    size_t videos = 0;
    for (size_t p = page1.find("<video"); p != std::string::npos; p = page1.find("<video", p + 1)) ++videos;
    EXPECT_EQ(videos, 3u);
    // The caption is escaped.
    EXPECT_NE(page1.find("a &lt;tone&gt; &amp; more"), std::string::npos);
    // Each system's mp4 holds the clip's video and that system's audio.
    for (const char* col : {"ground_truth", "A", "sys_b"}) {
        const auto info = io::probe(o.out / "media" / col / "clip_b.mp4");
        EXPECT_TRUE(info.has_video && info.has_audio) << col;
        EXPECT_EQ(info.width, 48) << col;
    }
    const auto a = io::decode_audio(o.out / "media" / "A" / "clip_a.mp4");
    const auto gt = io::decode_audio(o.out / "media" / "ground_truth" / "clip_a.mp4");
    double diff = 0;
    for (size_t i = 0; i < std::min(a.samples.size(), gt.samples.size()); ++i) diff += std::abs(a.samples[i] - gt.samples[i]);
    EXPECT_GT(diff, 100.0);  // not the same audio in both columns
}

TEST(ReportSiteTest, EveryLinkIsRelativeAndPointsAtAFileOfTheSite) {
    SiteFixture f;
    const auto o = f.options();
    write_site(o);
    int checked = 0;
    for (const auto& e : std::filesystem::directory_iterator(o.out)) {
        if (e.path().extension() != ".html") continue;
        for (const auto& link : links(fs::read_text(e.path()))) {
            EXPECT_EQ(link.find(':'), std::string::npos) << link;  // no scheme (http:, file:)
            EXPECT_NE(link.front(), '/') << link;
            EXPECT_EQ(link.find(".."), std::string::npos) << link;
            EXPECT_TRUE(std::filesystem::exists(o.out / link)) << e.path() << " -> " << link;
            ++checked;
        }
    }
    EXPECT_GT(checked, 15);
}

TEST(ReportSiteTest, SummaryHasTablesCurvesAudioScoreAndNamesTheStandIns) {
    SiteFixture f;
    const auto o = f.options();
    const auto s = write_site(o);
    const auto index = fs::read_text(s.index);
    EXPECT_NE(index.find("SIMULATED annotator"), std::string::npos);
    EXPECT_NE(index.find("sim_quality (SIMULATED)"), std::string::npos);
    EXPECT_NE(index.find("AudioScore (fit to SIMULATED annotator ratings)"), std::string::npos);
    // The confusion matrix and the table rows.
    EXPECT_NE(index.find("<td>12</td>"), std::string::npos);
    EXPECT_NE(index.find("system, vs_base"), std::string::npos);
    // B's onset F1 is 0.70 and 0.66 above A's on the two shared clips (mean 0.68): the paired interval excludes 0 (*);
    // the table's own vs_base interval [0.01, 0.09] does too.
    EXPECT_NE(index.find("+0.68 <span"), std::string::npos);
    EXPECT_GE(std::count(index.begin(), index.end(), '*'), 2);
    // A's DeSync: the mean |offset| of its clips' windows, 0.2 s.
    EXPECT_NE(index.find(">0.2 <span"), std::string::npos);
    // KL written as null (NaN) shows as a dash, not an error.
    EXPECT_NE(index.find("12.5"), std::string::npos);
    if (gnuplot_available()) {
        EXPECT_EQ(s.curves, 3);  // loss, held-out, preference (no rewards or errors in this run)
        EXPECT_TRUE(std::filesystem::exists(o.out / "audioscore_reliability.svg"));
    }
}

TEST(ReportSiteTest, ARerunReusesTheMediaItAlreadyWrote) {
    SiteFixture f;
    auto o = f.options();
    const auto first = write_site(o);
    EXPECT_EQ(first.media_files, 2 + 2 * 3 * 2);  // posters + (mp4, mel) per cell
    const auto second = write_site(o);
    EXPECT_EQ(second.media_files, 0);
    o.ground_truth = false;
    o.page_size = 5;
    const auto third = write_site(o);
    EXPECT_EQ(third.pages, 1);
    EXPECT_EQ(third.media_files, 0);
}

TEST(ReportSiteTest, ExplicitClipsAndEveryKindOfBadInputAreNamed) {
    SiteFixture f;
    auto o = f.options();
    o.clip_ids = {"clip_b", "clip_a"};
    const auto s = write_site(o);
    EXPECT_EQ(s.clips, 2);
    const auto page = fs::read_text(o.out / "clips_1.html");
    EXPECT_LT(page.find("clip_b"), page.find("clip_a"));  // in the order asked

    auto bad = f.options("bad");
    bad.clip_ids = {"clip_c"};  // sys_b has no audio for it
    v2a::test::expect_error([&] { write_site(bad); }, ErrorKind::Data, "'sys_b' has no audio for clip 'clip_c'");
    bad.clip_ids = {"nope"};
    v2a::test::expect_error([&] { write_site(bad); }, ErrorKind::Usage, "clip 'nope' is not in");
    bad.clip_ids.clear();
    bad.split = "dev";
    v2a::test::expect_error([&] { write_site(bad); }, ErrorKind::Usage, "unknown split 'dev'");
    bad.split = "test";
    fs::write_atomic(f.dir / "not_a_table.json", "{\"rows\": 3}");
    bad.tables = {f.dir / "not_a_table.json"};
    v2a::test::expect_error([&] { write_site(bad); }, ErrorKind::Data, "not_a_table.json: not a results table");
    fs::write_atomic(f.dir / "odd_table.json", "[{\"system\": \"x\", \"metrics\": {\"ib\": {\"mean\": 1}}, \"seeds\": 0,"
                                               " \"vs_base\": {\"ib\": \"oops\"}}]");
    bad.tables = {f.dir / "odd_table.json"};
    EXPECT_NO_THROW(write_site(bad));  // a string where an interval belongs is a dash
    fs::write_atomic(f.dir / "broken.json", "[{\"system\": ");
    bad.tables = {f.dir / "broken.json"};
    v2a::test::expect_error([&] { write_site(bad); }, ErrorKind::Data, "broken.json: the results table is not valid JSON");
    bad.tables.clear();
    bad.audioscore = f.table;  // a table, not an AudioScore report
    v2a::test::expect_error([&] { write_site(bad); }, ErrorKind::Data, "no AudioScore held-out evaluation");
    SiteOptions empty;
    empty.manifest = f.manifest;
    empty.out = f.dir / "empty";
    v2a::test::expect_error([&] { write_site(empty); }, ErrorKind::Usage, "nothing to show");

    std::filesystem::create_directories(f.dir / "nothing_here");
    v2a::test::expect_error([&] { classify_input((f.dir / "nothing_here").string()); }, ErrorKind::Usage,
                            "neither an eval JSON");
    v2a::test::expect_error([&] { classify_input((f.dir / "missing").string()); }, ErrorKind::Usage, "does not exist");
    v2a::test::expect_error([&] { classify_input(f.manifest.string()); }, ErrorKind::Usage, "not an eval JSON");
    v2a::test::expect_error([&] { classify_input(f.table.string()); }, ErrorKind::Data, "no \"pred\" folder");
}

TEST(ReportSiteTest, InputsAreClassifiedByWhatTheyHold) {
    SiteFixture f;
    const auto run = classify_input(f.run.string());
    EXPECT_EQ(run.kind, InputKind::Run);
    const auto folder = classify_input(f.sys_b.string());
    EXPECT_EQ(folder.kind, InputKind::System);
    EXPECT_EQ(folder.system.name, "sys_b");
    EXPECT_EQ(folder.system.eval_json, std::filesystem::path(f.sys_b.string() + ".json"));  // found beside it
    const auto named = classify_input("base=" + (f.dir / "eval" / "sys_a.json").string());
    EXPECT_EQ(named.system.name, "base");
    EXPECT_EQ(named.system.audio_dir, f.sys_a);
}

TEST(ReportSiteTest, BootstrapIntervalsAndEscaping) {
    const auto c = bootstrap_mean({0.3, 0.3, 0.3}, 1);
    EXPECT_DOUBLE_EQ(c.mean, 0.3);
    EXPECT_DOUBLE_EQ(c.lo, 0.3);
    EXPECT_DOUBLE_EQ(c.hi, 0.3);
    std::vector<double> v;
    for (int i = 0; i < 200; ++i) v.push_back(i % 2);  // mean 0.5, sd 0.5: se 0.035, 95% ~ +-0.07
    const auto b = bootstrap_mean(v, 7);
    EXPECT_DOUBLE_EQ(b.mean, 0.5);
    EXPECT_NEAR(b.lo, 0.43, 0.03);
    EXPECT_NEAR(b.hi, 0.57, 0.03);
    const auto again = bootstrap_mean(v, 7);
    EXPECT_EQ(again.lo, b.lo);  // seeded
    v2a::test::expect_error([] { bootstrap_mean({}, 0); }, ErrorKind::Usage, "bootstrap");
    EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(SpectrogramImageTest, SilenceIsTheRampsFloorAndAToneLightsItsBand) {
    const std::vector<float> silence(16000, 0.0f);
    const auto img = spectrogram_image(silence, 16000);
    ASSERT_EQ(img.dim(), 3);
    EXPECT_EQ(img.size(0), 160);                                   // 80 mel bands x 2
    EXPECT_EQ(img.size(1), 2 * 62);  // MMAudio framing: floor((16000 - 256) / 256) + 1 = 62 frames, x 2
    EXPECT_TRUE(img.select(2, 2).eq(4).all().item<bool>());        // every pixel the floor colour (0, 0, 4)
    const auto t = test::tone(440.0);
    const auto lit = spectrogram_image(t.samples, 16000).to(torch::kFloat).sum(2).mean(1);  // [160] brightness per row
    const int64_t brightest = lit.argmax().item<int64_t>();
    // 440 Hz sits in the lower part of the 0-8 kHz mel axis, drawn at the bottom: a row in the lower half.
    EXPECT_GT(brightest, 80);
    v2a::test::expect_error([] { spectrogram_image({}, 16000); }, ErrorKind::Usage, "no audio samples");
}

TEST(PngTest, WritesAPngWithTheImagesSize) {
    v2a::test::TempDir dir;
    auto rgb = torch::zeros({7, 13, 3}, torch::kUInt8);
    rgb.select(2, 0).fill_(255);
    io::write_png(dir / "red.png", rgb);
    const auto bytes = fs::read_bytes(dir / "red.png");
    ASSERT_GT(bytes.size(), 24u);
    EXPECT_EQ(std::string(bytes.begin() + 1, bytes.begin() + 4), "PNG");
    // IHDR: width and height, big-endian, at bytes 16-23.
    auto be32 = [&](size_t at) { return (int(bytes[at]) << 24) | (int(bytes[at + 1]) << 16) | (int(bytes[at + 2]) << 8) | int(bytes[at + 3]); };
    EXPECT_EQ(be32(16), 13);
    EXPECT_EQ(be32(20), 7);
    v2a::test::expect_error([&] { io::write_png(dir / "bad.png", torch::zeros({4, 4}, torch::kUInt8)); }, ErrorKind::Usage,
                            "RGB pixels");
    EXPECT_FALSE(std::filesystem::exists(dir / "bad.png"));
}

}  // namespace
}  // namespace v2a::report
