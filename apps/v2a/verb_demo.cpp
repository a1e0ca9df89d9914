// `v2a demo`: the README's main job.
#include <CLI/CLI.hpp>

#include "v2a/core/error.h"
#include "verbs.h"

namespace v2a::cli {

void add_demo(CLI::App& app) {
    auto* cmd = app.add_subcommand("demo", "run the end-to-end demo on the embedded default config");
    cmd->callback([] { fail(ErrorKind::Internal, "demo: not built yet"); });
}

}  // namespace v2a::cli
