#include "v2a/core/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "v2a/core/error.h"
#include "v2a/core/log.h"

namespace v2a::dist {

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    V2A_CHECK(fd >= 0, IO, "launch: cannot open a socket (", std::strerror(errno), ")");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    V2A_CHECK(ok, IO, "launch: cannot find a free port (", std::strerror(errno), ")");
    return ntohs(addr.sin_port);
}

namespace {

volatile sig_atomic_t g_signal = 0;
void remember_signal(int sig) { g_signal = sig; }

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

std::string describe_status(int status) {
    if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
    return "exited with code " + std::to_string(exit_code_of(status));
}

}  // namespace

LaunchResult launch(const std::vector<std::string>& command, const LaunchOptions& o) {
    V2A_CHECK(!command.empty(), Usage, "launch: no command to run (put it after --, e.g. -- train --data ...)");
    V2A_CHECK(o.nproc_per_node >= 1 && o.nproc_per_node <= 1024, Usage,
              "launch: --nproc-per-node must be in [1, 1024], got ", o.nproc_per_node);
    V2A_CHECK(o.nnodes >= 1 && o.node_rank >= 0 && o.node_rank < o.nnodes, Usage, "launch: --node-rank ",
              o.node_rank, " is outside --nnodes ", o.nnodes);
    V2A_CHECK(o.nnodes == 1 || o.master_port > 0, Usage,
              "launch: with --nnodes > 1 every node needs the same --master-port");
    const int world = o.nproc_per_node * o.nnodes;
    const int port = o.master_port > 0 ? o.master_port : free_port();
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const int threads = o.threads_per_process > 0 ? o.threads_per_process
                                                  : std::max(1, int(cores) / o.nproc_per_node);

    std::vector<char*> argv;
    for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    std::map<pid_t, int> workers;  // pid -> global rank
    for (int local = 0; local < o.nproc_per_node; ++local) {
        const int rank = o.node_rank * o.nproc_per_node + local;
        const pid_t pid = ::fork();
        V2A_CHECK(pid >= 0, IO, "launch: cannot start worker ", rank, " (", std::strerror(errno), ")");
        if (pid == 0) {
            // Its own process group: stopping a worker stops whatever it started too.
            ::setpgid(0, 0);
            auto set = [](const char* k, const std::string& v) { ::setenv(k, v.c_str(), 1); };
            set("RANK", std::to_string(rank));
            set("WORLD_SIZE", std::to_string(world));
            set("LOCAL_RANK", std::to_string(local));
            set("LOCAL_WORLD_SIZE", std::to_string(o.nproc_per_node));
            set("GROUP_RANK", std::to_string(o.node_rank));
            set("MASTER_ADDR", o.master_addr);
            set("MASTER_PORT", std::to_string(port));
            if (o.threads_per_process > 0 || std::getenv("OMP_NUM_THREADS") == nullptr) {
                set("OMP_NUM_THREADS", std::to_string(threads));
            }
            ::execv(argv[0], argv.data());
            std::fprintf(stderr, "v2a launch: cannot run %s (%s)\n", argv[0], std::strerror(errno));
            ::_exit(127);
        }
        ::setpgid(pid, pid);  // also from the parent: no race with the first signal
        workers[pid] = rank;
    }
    V2A_LOG_INFO("launch: %d worker(s) on this node (ranks %d-%d of %d), %d thread(s) each, store at %s:%d",
                 o.nproc_per_node, o.node_rank * o.nproc_per_node, o.node_rank * o.nproc_per_node + o.nproc_per_node - 1,
                 world, threads, o.master_addr.c_str(), port);

    // Ctrl-C / SIGTERM to the launcher reach every worker's group (they are not in the terminal's).
    g_signal = 0;
    struct sigaction sa {}, old_int {}, old_term {};
    sa.sa_handler = remember_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);

    LaunchResult result;
    std::chrono::steady_clock::time_point kill_at{};
    bool terminating = false;
    auto stop_all = [&](int sig) {
        for (const auto& [p, r] : workers) ::kill(-p, sig);
        if (!terminating) {
            terminating = true;
            kill_at = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(int64_t(std::max(0.0, o.grace_seconds) * 1000));
        }
    };
    while (!workers.empty()) {
        if (g_signal != 0 && !terminating) {
            V2A_LOG_WARN("launch: got signal %d; stopping the workers", int(g_signal));
            if (result.failed_rank < 0) {
                result.exit_code = 128 + int(g_signal);
                result.message = std::string("stopped by signal ") + strsignal(int(g_signal));
            }
            stop_all(SIGTERM);
        }
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, terminating ? WNOHANG : 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;  // no children left
        }
        if (pid == 0) {  // terminating, none exited yet: escalate after the grace period
            if (std::chrono::steady_clock::now() >= kill_at) {
                for (const auto& [p, r] : workers) ::kill(-p, SIGKILL);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        auto it = workers.find(pid);
        if (it == workers.end()) continue;
        const int rank = it->second;
        workers.erase(it);
        const int code = exit_code_of(status);
        if (code != 0 && result.failed_rank < 0) {
            result.exit_code = code;
            result.failed_rank = rank;
            result.message = "rank " + std::to_string(rank) + " " + describe_status(status);
            if (!workers.empty()) {
                V2A_LOG_WARN("launch: %s; stopping the other %zu worker(s)", result.message.c_str(), workers.size());
                stop_all(SIGTERM);
            }
        }
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    return result;
}

}  // namespace v2a::dist
