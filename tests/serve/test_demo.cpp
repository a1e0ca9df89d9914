// The Demo endpoints with a tiny generator and VAE: a real upload is generated and served back as
// an mp4 with audio; fake, oversized, too long and malformed uploads are refused with 4xx.
#include "fixtures.h"

namespace v2a::serve::test {
namespace {

class DemoTest : public ::testing::Test {
protected:
    v2a::test::TempDir dir;
    std::unique_ptr<RunningServer> server;
    std::string clip_bytes;
    stdfs::path work_dir;

    json wait_done(httplib::Client& c, const std::string& id) {
        json status;
        for (int i = 0; i < 600; ++i) {
            status = get(c, "/api/demo/jobs/" + id).body;
            if (status["state"] == "done" || status["state"] == "failed") break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return status;
    }

    void SetUp() override { start(3600.0); }

    void start(double keep_seconds) {
        server.reset();
        write_clip(dir / "upload.mp4", 2, 1.0);
        clip_bytes = fs::read_text(dir / "upload.mp4");

        ServerOptions o;
        o.db = dir / "labels.sqlite";
        DemoOptions d = write_tiny_model(dir.path());
        d.limits.max_bytes = int64_t(clip_bytes.size()) + 2000;
        d.limits.max_seconds = 1.5;
        d.max_steps = 8;
        d.vocoder_iterations = 2;
        d.keep_seconds = keep_seconds;
        work_dir = d.work_dir;
        o.demo = d;
        server = std::make_unique<RunningServer>(o, dummy_clips(dir.path(), 1));
    }

    Reply upload(const std::string& bytes, const std::vector<std::pair<std::string, std::string>>& fields = {},
                 bool header = true) {
        httplib::MultipartFormDataItems items{{"video", bytes, "clip.mp4", "video/mp4"}};
        for (const auto& [k, v] : fields) items.push_back({k, v, "", ""});
        auto c = server->client();
        httplib::Headers h;
        if (header) h.emplace("X-V2A-Request", "1");
        return to_reply(c.Post("/api/demo/jobs", h, items));
    }
};

TEST_F(DemoTest, GeneratesAudioForAnUploadAndServesTheMp4) {
    auto c = server->client();
    EXPECT_EQ(get(c, "/api/info").body["demo"]["enabled"], true);
    auto job = upload(clip_bytes, {{"prompt", "a tone"}, {"negative", "noise"}, {"seed", "7"}, {"steps", "2"}, {"cfg", "3"}});
    ASSERT_EQ(job.status, 202) << job.text;
    const auto id = job.body["id"].get<std::string>();
    json status;
    for (int i = 0; i < 600; ++i) {
        status = get(c, "/api/demo/jobs/" + id).body;
        if (status["state"] == "done" || status["state"] == "failed") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(status["state"], "done") << status.dump();
    EXPECT_EQ(status["step"], 2);
    EXPECT_EQ(status["seed"], 7);
    auto result = c.Get(status["result"].get<std::string>().c_str());
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200);
    EXPECT_EQ(result->get_header_value("Content-Type"), "video/mp4");
    fs::write_atomic(dir / "result.mp4", result->body);
    const auto info = io::probe(dir / "result.mp4");
    EXPECT_TRUE(info.has_video);
    EXPECT_TRUE(info.has_audio);
    auto download = c.Get(status["download"].get<std::string>().c_str());
    ASSERT_TRUE(download);
    EXPECT_NE(download->get_header_value("Content-Disposition").find("attachment"), std::string::npos);
}

TEST_F(DemoTest, FinishedJobsAndTheirFilesExpire) {
    // Job files left by an earlier run are deleted at start; other files in the folder are not.
    fs::write_atomic(work_dir / "0123456789abcdef.mp4", std::string("old"));
    fs::write_atomic(work_dir / "notes.txt", std::string("keep me"));
    start(1.0);
    EXPECT_FALSE(stdfs::exists(work_dir / "0123456789abcdef.mp4"));
    EXPECT_TRUE(stdfs::exists(work_dir / "notes.txt"));

    auto c = server->client();
    auto job = upload(clip_bytes, {{"steps", "1"}});
    ASSERT_EQ(job.status, 202) << job.text;
    const auto id = job.body["id"].get<std::string>();
    ASSERT_EQ(wait_done(c, id)["state"], "done");
    EXPECT_FALSE(stdfs::exists(work_dir / (id + ".upload")));  // not needed once the result exists
    EXPECT_TRUE(stdfs::exists(work_dir / (id + ".mp4")));
    for (int i = 0; i < 50 && get(c, "/api/demo/jobs/" + id).status == 200; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(get(c, "/api/demo/jobs/" + id).status, 404);
    EXPECT_FALSE(stdfs::exists(work_dir / (id + ".mp4")));
    EXPECT_TRUE(stdfs::exists(work_dir / "notes.txt"));
}

TEST_F(DemoTest, FakeOversizedLongAndMalformedUploadsAreRefused) {
    // Text named .mp4, and an mp4 whose header is cut off: decoding decides, not the name.
    auto fake = upload("this is not a video, whatever the file name says");
    EXPECT_EQ(fake.status, 400) << fake.text;
    EXPECT_NE(error_of(fake).find("not a video"), std::string::npos) << fake.text;
    EXPECT_EQ(upload(clip_bytes.substr(0, clip_bytes.size() / 3)).status, 400);
    EXPECT_EQ(upload(std::string()).status, 400);
    // A WAV is media, but has no video stream.
    io::Audio tone;
    tone.sample_rate = 16000;
    tone.samples.assign(800, 0.1f);
    io::write_audio_file(dir / "tone.wav", tone);
    auto wav = upload(fs::read_text(dir / "tone.wav"));
    EXPECT_EQ(wav.status, 400);
    EXPECT_NE(error_of(wav).find("no video stream"), std::string::npos) << wav.text;
    // Over the size limit: refused by the demo check, and far over it by the HTTP layer.
    auto big = upload(clip_bytes + std::string(4000, '\0'));
    EXPECT_EQ(big.status, 413) << big.text;
    auto huge = upload(std::string(3 << 20, 'x'));
    EXPECT_EQ(huge.status, 413) << huge.text;
    // Longer than the duration limit (1.5 s).
    write_clip(dir / "long.mp4", 1, 2.0);
    auto long_clip = upload(fs::read_text(dir / "long.mp4"));
    if (int64_t(fs::read_text(dir / "long.mp4").size()) <= int64_t(clip_bytes.size()) + 2000) {
        EXPECT_EQ(long_clip.status, 413) << long_clip.text;
        EXPECT_NE(error_of(long_clip).find("longer than"), std::string::npos) << long_clip.text;
    }
    // Parameters.
    EXPECT_EQ(upload(clip_bytes, {{"steps", "9"}}).status, 400);   // max 8
    EXPECT_EQ(upload(clip_bytes, {{"steps", "two"}}).status, 400);
    EXPECT_EQ(upload(clip_bytes, {{"steps", "99999999999"}}).status, 400);
    EXPECT_EQ(upload(clip_bytes, {{"seed", "-1"}}).status, 400);
    EXPECT_EQ(upload(clip_bytes, {{"cfg", "1e9"}}).status, 400);
    EXPECT_EQ(upload(clip_bytes, {{"prompt", std::string(1001, 'a')}}).status, 400);
    EXPECT_EQ(upload(clip_bytes, {}, /*header=*/false).status, 403);   // a cross-site form cannot set it
    auto c = server->client();
    EXPECT_EQ(to_reply(c.Post("/api/demo/jobs", {{"X-V2A-Request", "1"}}, "{}", "application/json")).status, 415);
    httplib::MultipartFormDataItems no_video{{"prompt", "x", "", ""}};
    EXPECT_EQ(to_reply(c.Post("/api/demo/jobs", {{"X-V2A-Request", "1"}}, no_video)).status, 400);
    EXPECT_EQ(get(c, "/api/demo/jobs/0123456789abcdef").status, 404);
    EXPECT_EQ(get(c, "/api/demo/jobs/../../etc").status, 404);
    EXPECT_EQ(c.Get("/media/demo/0123456789abcdef.mp4")->status, 404);
    // Nothing refused is left behind in the work folder.
    size_t files = 0;
    for (const auto& e : stdfs::directory_iterator(dir / "demo")) (void)e, ++files;
    EXPECT_EQ(files, 0u);
}

}  // namespace
}  // namespace v2a::serve::test
