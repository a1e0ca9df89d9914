// `v2a launch`: start a verb data-parallel on N processes (torchrun's environment, c10d rendezvous).
//   v2a launch --nproc-per-node 2 -- train --data M --vae V --out runs/sft
//   v2a launch --nnodes 2 --node-rank 0 --nproc-per-node 8 --master-addr 10.0.0.1 --master-port 29500 -- dpo ...
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <memory>

#include "v2a/core/error.h"
#include "v2a/core/launch.h"
#include "verbs.h"

namespace v2a::cli {

void add_launch(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "launch", "run a verb on N data-parallel processes (torchrun-compatible environment; c10d/Gloo)");
    auto o = std::make_shared<dist::LaunchOptions>();
    auto verb = std::make_shared<std::vector<std::string>>();
    cmd->add_option("--nproc-per-node", o->nproc_per_node, "worker processes on this node")->capture_default_str();
    cmd->add_option("--nnodes", o->nnodes, "nodes in the job")->capture_default_str();
    cmd->add_option("--node-rank", o->node_rank, "this node's index in [0, nnodes)")->capture_default_str();
    cmd->add_option("--master-addr", o->master_addr, "address of rank 0's node (its c10d store)")->capture_default_str();
    cmd->add_option("--master-port", o->master_port, "store port (default: a free port; required with --nnodes > 1)");
    cmd->add_option("--threads-per-process", o->threads_per_process,
                    "OMP_NUM_THREADS of each worker (default: cores / nproc-per-node)");
    cmd->add_option("--grace", o->grace_seconds, "seconds between SIGTERM and SIGKILL when a worker fails")
        ->capture_default_str();
    cmd->add_option("verb", *verb, "the v2a verb and its arguments, after --")->required();
    cmd->callback([o, verb] {
        // The workers are this same binary: `v2a launch ... -- train ...` runs `v2a train ...` N times.
        std::vector<std::string> command{"/proc/self/exe"};
        char self[4096];
        const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) command[0] = std::string(self, size_t(n));
        V2A_CHECK(!verb->empty() && (*verb)[0] != "launch", Usage, "launch: give a verb to run (not launch itself)");
        command.insert(command.end(), verb->begin(), verb->end());
        const auto r = dist::launch(command, *o);
        if (r.exit_code != 0) fail(ErrorKind::Model, "launch: ", r.message);
    });
}

}  // namespace v2a::cli
