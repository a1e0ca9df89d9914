// v2a: video-to-audio generation aligned with human preferences (V2A-DPO and siblings).
// Errors from any verb become one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <set>
#include <string>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/core/threads.h"
#include "verbs.h"

namespace {

int exit_code_for(v2a::ErrorKind kind) {
    switch (kind) {
        case v2a::ErrorKind::Usage: return 2;
        case v2a::ErrorKind::IO: return 3;
        case v2a::ErrorKind::Data: return 4;
        case v2a::ErrorKind::Config: return 5;
        case v2a::ErrorKind::Model: return 6;
        case v2a::ErrorKind::Internal: return 70;
    }
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"v2a: video-to-audio generation aligned with human preferences (V2A-DPO)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("v2a ") + V2A_VERSION);
    int threads = 0;
    std::string log_level = "info";
    app.add_option("--threads", threads, "intra-op threads (default: OMP_NUM_THREADS, else all cores)");
    app.add_option("--log-level", log_level, "debug, info, warn, error or quiet")->capture_default_str();
    // Started by torchrun or `v2a launch` (RANK/WORLD_SIZE set): join the c10d group before the verb runs.
    std::unique_ptr<v2a::dist::World> world;
    app.parse_complete_callback([&] {
        v2a::log::set_level(v2a::log::parse_level(log_level));
        v2a::configure_threads(threads);
        const auto info = v2a::dist::world_from_env();
        if (info.world_size > 1) {
            // The verbs whose work is split over ranks (docs/DISTRIBUTED.md); any other would run N times.
            static const std::set<std::string> data_parallel{"train", "train-vae", "train-judges", "dpo",
                                                             "ddpo",  "generate",  "pairs"};
            const std::string verb = app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name();
            V2A_CHECK(data_parallel.count(verb), Usage, "'", verb, "' does not run data-parallel (WORLD_SIZE=",
                      info.world_size, "); these do: train, train-vae, train-judges, dpo, ddpo, generate --manifest, pairs");
            world = std::make_unique<v2a::dist::World>(info);
        }
    });

    v2a::cli::add_synth(app);
    v2a::cli::add_demo(app);
    v2a::cli::add_train_vae(app);
    v2a::cli::add_train(app);
    v2a::cli::add_generate(app);
    v2a::cli::add_train_judges(app);
    v2a::cli::add_eval(app);
    v2a::cli::add_labels(app);
    v2a::cli::add_audioscore(app);
    v2a::cli::add_pairs(app);
    v2a::cli::add_dpo(app);
    v2a::cli::add_ddpo(app);
    v2a::cli::add_serve(app);
    v2a::cli::add_convert(app);
    v2a::cli::add_launch(app);
    v2a::cli::add_report(app);
    v2a::cli::add_cop(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const v2a::Error& e) {
        std::fprintf(stderr, "v2a: error: %s\n", e.what());
        return exit_code_for(e.kind());
    } catch (const c10::Error& e) {
        std::fprintf(stderr, "v2a: error: %s\n", e.what_without_backtrace());
        return 6;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "v2a: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
