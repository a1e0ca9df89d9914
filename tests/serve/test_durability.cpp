// A label the server acknowledged survives kill -9: the server runs in a forked process, clients
// commit labels over HTTP, the process is SIGKILLed (once idle, once in the middle of concurrent
// writes), and the reopened database holds every acknowledged label exactly once and passes
// SQLite's integrity check.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>

#include "fixtures.h"
#include "v2a/serve/label_store.h"
#include "v2a/serve/sqlite.h"

namespace v2a::serve::test {
namespace {

/// Forks a server on an ephemeral port; returns its pid and port. The child never returns.
std::pair<pid_t, int> fork_server(const stdfs::path& db, const stdfs::path& dir, int clips) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        int port = -1;
        try {
            ServerOptions o;
            o.db = db;
            o.port = 0;
            o.raters_per_clip = 1000;
            Server server(o, dummy_clips(dir, clips));
            port = server.bind();
            (void)!::write(fds[1], &port, sizeof port);
            ::close(fds[1]);
            server.listen();
        } catch (...) {
            (void)!::write(fds[1], &port, sizeof port);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    int port = -1;
    EXPECT_EQ(::read(fds[0], &port, sizeof port), ssize_t(sizeof port));
    ::close(fds[0]);
    EXPECT_GT(port, 0);
    return {pid, port};
}

void kill_hard(pid_t pid) {
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

std::string integrity(const stdfs::path& db) {
    Database d(db, {false});
    auto s = d.prepare("PRAGMA integrity_check");
    return s.step() ? s.text(0) : "no answer";
}

TEST(DurabilityTest, AcknowledgedLabelsSurviveKill9) {
    v2a::test::TempDir dir;
    const auto db = dir / "labels.sqlite";
    auto [pid, port] = fork_server(db, dir.path(), 40);
    httplib::Client c("127.0.0.1", port);
    for (int i = 0; i < 40; ++i) {
        auto r = post_json(c, "/api/labels",
                           {{"annotator", "ana"}, {"clip_id", "clip" + std::to_string(i)}, {"label", i % 3 ? "good" : "bad"}});
        ASSERT_EQ(r.status, 201) << r.text;
    }
    kill_hard(pid);
    EXPECT_EQ(integrity(db), "ok");
    LabelStore store(db, {false});
    const auto labels = store.labels();
    ASSERT_EQ(labels.size(), 40u);
    for (int i = 0; i < 40; ++i) {
        EXPECT_EQ(labels[size_t(i)].clip_id, "clip" + std::to_string(i));
        EXPECT_EQ(labels[size_t(i)].label, i % 3 ? "good" : "bad");
    }
}

TEST(DurabilityTest, KillDuringConcurrentWritesLosesNoAcknowledgedLabel) {
    v2a::test::TempDir dir;
    const auto db = dir / "labels.sqlite";
    auto [pid, port] = fork_server(db, dir.path(), 400);
    constexpr int kClients = 6;
    std::mutex m;
    std::set<std::pair<std::string, std::string>> acked;   // (annotator, clip)
    std::atomic<int> total{0};
    std::vector<std::thread> clients;
    for (int k = 0; k < kClients; ++k) {
        clients.emplace_back([&, k, port = port] {
            httplib::Client c("127.0.0.1", port);
            c.set_read_timeout(5);
            const std::string who = "annotator" + std::to_string(k);
            for (int i = 0; i < 400; ++i) {
                const std::string clip = "clip" + std::to_string(i);
                auto r = post_json(c, "/api/labels", {{"annotator", who}, {"clip_id", clip}, {"label", "medium"}});
                if (r.status != 201) return;   // the server is gone
                std::lock_guard<std::mutex> lock(m);
                acked.emplace(who, clip);
                ++total;
            }
        });
    }
    while (total < 150) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    kill_hard(pid);
    for (auto& t : clients) t.join();

    EXPECT_EQ(integrity(db), "ok");
    LabelStore store(db, {false});
    std::set<std::pair<std::string, std::string>> stored;
    for (const auto& l : store.labels()) EXPECT_TRUE(stored.emplace(l.annotator, l.clip_id).second) << "duplicate";
    for (const auto& a : acked) EXPECT_TRUE(stored.count(a)) << "lost " << a.first << " " << a.second;
    // Committed but not acknowledged: at most the one request each client had in flight.
    EXPECT_LE(stored.size(), acked.size() + kClients);
    EXPECT_GE(acked.size(), 150u);
}

}  // namespace
}  // namespace v2a::serve::test
