// `v2a synth`: the procedural audio-visual benchmark (placeholder until src/v2a/synth lands).
#include <CLI/CLI.hpp>

#include "v2a/core/error.h"
#include "verbs.h"

namespace v2a::cli {

void add_synth(CLI::App& app) {
    auto* cmd = app.add_subcommand("synth", "make the procedural audio-visual benchmark dataset");
    cmd->callback([] { fail(ErrorKind::Internal, "synth: not built yet"); });
}

}  // namespace v2a::cli
