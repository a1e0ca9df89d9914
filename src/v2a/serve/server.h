// `v2a serve`: the annotation and demo web UI (Rate, Compare, Agreement, Demo) over cpp-httplib.
// Binds 127.0.0.1 unless told otherwise; see docs/SERVE.md for the endpoints and the safety rules.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "v2a/serve/clip_registry.h"
#include "v2a/serve/demo_runner.h"

namespace v2a::serve {

class LabelStore;

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                          // 0 = any free port (see Server::port)
    std::filesystem::path db;                 // labels.sqlite (created)
    std::filesystem::path clips;              // manifest of the clips to rate
    std::filesystem::path media_cache;        // muxed mp4s of rows with an audio column (default <db>.media)
    int raters_per_clip = 3;                  // each clip (and A/B pair) is shown until this many annotators rated it
    std::string token;                        // when set, every API and media request needs it
    int threads = 64;                         // request threads (a keep-alive connection holds one)
    std::optional<DemoOptions> demo;          // the Demo tab's model; none = tab disabled
    size_t max_json_bytes = 64 * 1024;
};

class Server {
public:
    /// Opens the database and loads the clips (and the demo model).
    explicit Server(const ServerOptions& options);
    /// With clips already registered (tests, benchmarks); options.clips is ignored.
    Server(const ServerOptions& options, ClipRegistry clips);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds host:port and returns the port (the chosen one for port 0). Throws v2a::Error(IO).
    int bind();
    /// Serves until stop() (binds first when bind() was not called).
    void listen();
    /// Stops listen() from any thread.
    void stop();
    int port() const { return port_; }

    LabelStore& store();
    const ClipRegistry& clips() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int port_ = 0;
};

}  // namespace v2a::serve
