// `v2a serve`: the annotation (Rate / Compare / Agreement) and Demo web UI. docs/SERVE.md.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <unistd.h>

#include <thread>

#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/serve/server.h"
#include "verbs.h"

namespace v2a::cli {
namespace {

int g_stop_pipe[2] = {-1, -1};

void on_signal(int) {
    const char stop = 's';
    (void)!::write(g_stop_pipe[1], &stop, 1);
}

struct ServeArgs {
    serve::ServerOptions server;
    std::string model, vae, demo_dir;
    double max_upload_mb = 64, max_upload_seconds = 30, demo_keep_minutes = 60;
    int max_steps = 200, vocoder_iterations = 32;
};

void run(ServeArgs a) {
    V2A_CHECK(a.model.empty() == a.vae.empty(), Usage, "serve: --model and --vae go together");
    if (!a.model.empty()) {
        serve::DemoOptions d;
        d.generator = a.model;
        d.vae = a.vae;
        d.work_dir = a.demo_dir.empty() ? a.server.db.string() + ".demo" : a.demo_dir;
        d.limits.max_bytes = int64_t(a.max_upload_mb * 1024 * 1024);
        d.limits.max_seconds = a.max_upload_seconds;
        d.max_steps = a.max_steps;
        d.vocoder_iterations = a.vocoder_iterations;
        d.keep_seconds = a.demo_keep_minutes * 60.0;
        a.server.demo = d;
    }
    // SIGINT / SIGTERM stop the server gracefully. Threads (OpenMP, LibTorch) already exist, so a
    // signal mask cannot catch them: the handler writes to a pipe (async-signal-safe) and a thread
    // reading it calls stop().
    V2A_CHECK(::pipe(g_stop_pipe) == 0, IO, "serve: cannot create a pipe");
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    serve::Server server(a.server);
    const int port = server.bind();
    std::printf("serve: http://%s:%d/  (%zu clips, %zu groups with versions, %d raters per clip, db %s%s)\n",
                a.server.host.c_str(), port, server.clips().size(), server.clips().groups().size(),
                a.server.raters_per_clip, a.server.db.c_str(), a.server.demo ? ", demo on" : "");
    std::fflush(stdout);
    std::thread waiter([&] {
        char c = 0;
        if (::read(g_stop_pipe[0], &c, 1) == 1 && c == 's') server.stop();
    });
    server.listen();
    const char done = 'd';   // wakes the waiter when listen ended for another reason
    (void)!::write(g_stop_pipe[1], &done, 1);
    waiter.join();
    std::printf("serve: stopped\n");
}

}  // namespace

void add_serve(CLI::App& app) {
    auto* cmd = app.add_subcommand("serve", "web UI to rate generated clips (Rate / Compare / Agreement) and try the model (Demo)");
    auto a = std::make_shared<ServeArgs>();
    auto& s = a->server;
    cmd->add_option("--db", s.db, "SQLite database of labels (created; WAL mode)")->required();
    cmd->add_option("--clips", s.clips,
                    "manifest of the clips to rate (id,video,caption,label,split[,audio]); versions of one video "
                    "share an id prefix <clip>__<version>")
        ->required();
    cmd->add_option("--model", a->model, "generator checkpoint: enables the Demo tab (with --vae)");
    cmd->add_option("--vae", a->vae, "VAE checkpoint for the Demo tab");
    cmd->add_option("--host", s.host, "address to bind (anything but loopback needs --token)")
        ->capture_default_str();
    cmd->add_option("--port", s.port, "port (0 = any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
    cmd->add_option("--raters", s.raters_per_clip, "annotators per clip (and per A/B pair)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    cmd->add_option("--token", s.token, "access token every annotator must give when signing in");
    cmd->add_option("--http-threads", s.threads, "request threads (one per open connection)")
        ->capture_default_str()
        ->check(CLI::Range(2, 1024));
    cmd->add_option("--media-cache", s.media_cache, "where rows with an audio column are muxed (default <db>.media)");
    cmd->add_option("--demo-dir", a->demo_dir, "uploads and results of the Demo tab (default <db>.demo)");
    cmd->add_option("--demo-keep-minutes", a->demo_keep_minutes,
                    "a finished Demo job's result is deleted this long after it ended (its upload at once)")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 10080.0));
    cmd->add_option("--max-upload-mb", a->max_upload_mb, "Demo upload size limit")->capture_default_str()->check(
        CLI::Range(0.001, 4096.0));
    cmd->add_option("--max-upload-seconds", a->max_upload_seconds, "Demo upload duration limit")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 3600.0));
    cmd->add_option("--max-steps", a->max_steps, "largest number of Euler steps a Demo request may ask for")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
    cmd->add_option("--vocoder-iterations", a->vocoder_iterations, "Griffin-Lim iterations in the Demo")
        ->capture_default_str();
    cmd->callback([a] { run(*a); });
}

}  // namespace v2a::cli
