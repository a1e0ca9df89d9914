// Shared pieces of the serve tests: tiny real clips (mp4 with a tone), their manifest, a server
// running on 127.0.0.1 with an ephemeral port, and JSON helpers over httplib::Client.
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"
#include "v2a/audio/vae.h"
#include "v2a/core/fs.h"
#include "v2a/flow/generator.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/media.h"
#include "v2a/serve/clip_registry.h"
#include "v2a/serve/server.h"

namespace v2a::serve::test {

namespace stdfs = std::filesystem;
using nlohmann::json;

/// A 1 s, 25 fps, 32x32 mp4 of one colour with a tone (the colour and pitch tell clips apart).
inline void write_clip(const stdfs::path& path, int index, double seconds = 1.0) {
    const int64_t frames = int64_t(seconds * 25);
    auto video = torch::full({frames, 32, 32, 3}, 30 + 40 * (index % 6), torch::kUInt8);
    io::Audio a;
    a.sample_rate = 16000;
    a.samples.resize(size_t(seconds * 16000));
    for (size_t i = 0; i < a.samples.size(); ++i)
        a.samples[i] = float(0.3 * std::sin(2 * M_PI * (220.0 + 110.0 * index) * double(i) / 16000.0));
    io::write_mp4(path, video, 25.0, a);
}

/// Clips a__s1, a__s2, a__s3 (three versions of video a), b__s1, b__s2, c and d, written once per
/// directory, and their manifest (id,video,caption,label,split).
inline stdfs::path write_clips(const stdfs::path& dir, const std::vector<std::string>& ids = {"a__s1", "a__s2", "a__s3",
                                                                                            "b__s1", "b__s2", "c", "d"}) {
    stdfs::create_directories(dir / "clips");
    std::string manifest = "id,video,caption,label,split\n";
    for (size_t i = 0; i < ids.size(); ++i) {
        write_clip(dir / "clips" / (ids[i] + ".mp4"), int(i));
        manifest += ids[i] + ",clips/" + ids[i] + ".mp4,\"a tone, number " + std::to_string(i) + "\",tone,test\n";
    }
    fs::write_atomic(dir / "manifest.csv", manifest);
    return dir / "manifest.csv";
}

/// An untrained `tiny` generator (2 s, 32x32 frames, 8 latent channels) and a matching tiny VAE in
/// `dir` (generator.safetensors, vae.safetensors): enough for the Demo to run end to end.
inline DemoOptions write_tiny_model(const stdfs::path& dir) {
    torch::manual_seed(0);
    flow::V2AGenerator g(flow::GeneratorConfig::preset("tiny", 2.0, 32));
    g->net->set_latent_stats(torch::zeros({8}), torch::ones({8}));
    flow::save_generator(dir / "generator.safetensors", g);
    auto vo = audio::VaeOptions::preset("tiny");
    vo.latent_dim = 8;
    audio::MelVae v(vo);
    v->set_latent_stats(torch::zeros({8}), torch::ones({8}));
    io::save_checkpoint(dir / "vae.safetensors", *v, vo.to_json(), {{"kind", "mel_vae"}});
    DemoOptions d;
    d.generator = dir / "generator.safetensors";
    d.vae = dir / "vae.safetensors";
    d.work_dir = dir / "demo";
    return d;
}

/// Clips registered without real media (one shared dummy file): for tests that never play them
/// and must not touch LibTorch (the forked durability test).
inline ClipRegistry dummy_clips(const stdfs::path& dir, int n) {
    const auto media = dir / "dummy.mp4";
    fs::write_atomic(media, std::string("not played"));
    std::vector<Clip> clips;
    for (int i = 0; i < n; ++i) {
        Clip c;
        c.id = "clip" + std::to_string(i);
        std::tie(c.group, c.variant) = split_clip_id(c.id);
        c.media = media;
        c.version = "v0";
        clips.push_back(c);
    }
    return ClipRegistry(std::move(clips));
}

/// A server on 127.0.0.1:<ephemeral> serving from a thread, stopped when destroyed.
class RunningServer {
public:
    RunningServer(ServerOptions options, ClipRegistry clips) {
        options.host = "127.0.0.1";
        options.port = 0;
        server_ = std::make_unique<Server>(options, std::move(clips));
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->listen(); });
        // Ready once it answers: stop() before the accept loop runs would be lost.
        for (int i = 0; i < 500; ++i) {
            if (client().Get("/api/info")) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ADD_FAILURE() << "server did not come up";
    }
    ~RunningServer() {
        server_->stop();
        thread_.join();
    }
    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(120);
        return c;
    }
    Server& server() { return *server_; }

private:
    std::unique_ptr<Server> server_;
    int port_ = 0;
    std::thread thread_;
};

struct Reply {
    int status = 0;   // 0 = no response at all
    json body;
    std::string text;
};

inline Reply to_reply(const httplib::Result& r) {
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.text = r->body;
    out.body = json::parse(r->body, nullptr, false);
    return out;
}

inline Reply post_json(httplib::Client& c, const std::string& path, const json& body) {
    return to_reply(c.Post(path.c_str(), body.dump(), "application/json"));
}

inline Reply get(httplib::Client& c, const std::string& path) { return to_reply(c.Get(path.c_str())); }

inline std::string error_of(const Reply& r) {
    return r.body.is_object() && r.body.contains("error") ? r.body["error"].get<std::string>() : std::string();
}

}  // namespace v2a::serve::test
