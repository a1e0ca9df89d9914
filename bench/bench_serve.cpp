// Annotation throughput of `v2a serve` on loopback: C concurrent clients (each its own annotator
// and keep-alive connection) loop POST /api/rate/next + POST /api/labels for S seconds against an
// in-process server on 127.0.0.1, then the database is reopened and compared with what the clients
// were acknowledged: labels written/s, request latency, lost (acknowledged but missing) and
// duplicated labels (both must be 0).
//
//   bench_serve [--clients 50] [--seconds 60] [--clips 4000] [--db DIR] [--out result.json]
//
// The database lives in --db (default: a temporary folder), on the disk the server would use, with
// synchronous=FULL: every acknowledged label has been fsynced.
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "v2a/core/fs.h"
#include "v2a/serve/clip_registry.h"
#include "v2a/serve/label_store.h"
#include "v2a/serve/server.h"

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct Args {
    int clients = 50, clips = 4000;
    double seconds = 60;
    std::string db_dir, out;
};

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--clients") a.clients = std::stoi(v);
        else if (k == "--seconds") a.seconds = std::stod(v);
        else if (k == "--clips") a.clips = std::stoi(v);
        else if (k == "--db") a.db_dir = v;
        else if (k == "--out") a.out = v;
        else {
            std::fprintf(stderr, "bench_serve: unknown option %s\n", k.c_str());
            std::exit(2);
        }
    }
    return a;
}

struct ClientStats {
    std::vector<std::pair<std::string, std::string>> acked;   // (annotator, clip)
    std::vector<double> latency_ms;                          // per POST /api/labels
    int64_t errors = 0, requests = 0;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[size_t(std::min<double>(double(v.size() - 1), p * double(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse(argc, argv);
    const stdfs::path dir = a.db_dir.empty() ? stdfs::temp_directory_path() / ("v2a_bench_serve_" + std::to_string(::getpid()))
                                             : stdfs::path(a.db_dir);
    stdfs::create_directories(dir);
    const auto db = dir / "bench.sqlite";
    stdfs::remove(db);
    stdfs::remove(db.string() + "-wal");
    stdfs::remove(db.string() + "-shm");
    v2a::fs::write_atomic(dir / "dummy.mp4", std::string("not played"));
    std::vector<v2a::serve::Clip> clips;
    for (int i = 0; i < a.clips; ++i) {
        v2a::serve::Clip c;
        c.id = "clip" + std::to_string(i) + "__s0";
        std::tie(c.group, c.variant) = v2a::serve::split_clip_id(c.id);
        c.media = dir / "dummy.mp4";
        c.version = "v0";
        clips.push_back(c);
    }
    v2a::serve::ServerOptions o;
    o.db = db;
    o.port = 0;
    o.raters_per_clip = a.clients;   // every annotator may rate every clip: nobody runs out
    o.threads = a.clients + 8;
    v2a::serve::Server server(o, v2a::serve::ClipRegistry(clips));
    const int port = server.bind();
    std::thread listener([&] { server.listen(); });
    for (int i = 0; i < 500; ++i) {
        httplib::Client c("127.0.0.1", port);
        if (c.Get("/api/info")) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }

    std::vector<ClientStats> stats(size_t(a.clients));
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    for (int k = 0; k < a.clients; ++k) {
        threads.emplace_back([&, k] {
            auto& s = stats[size_t(k)];
            httplib::Client c("127.0.0.1", port);
            c.set_keep_alive(true);
            c.set_read_timeout(30);
            const std::string who = "bench" + std::to_string(k);
            int64_t n = 0;
            while (!stop) {
                ++s.requests;
                auto next = c.Post("/api/rate/next", json{{"annotator", who}}.dump(), "application/json");
                if (!next || next->status != 200) { ++s.errors; continue; }
                const auto j = json::parse(next->body);
                if (j["done"].get<bool>()) break;
                const auto clip = j["clip"]["id"].get<std::string>();
                const json body{{"annotator", who}, {"clip_id", clip}, {"label", (n % 3 == 0) ? "good" : n % 3 == 1 ? "medium" : "bad"},
                                {"response_ms", 1000 + n}, {"request_id", who + "-" + std::to_string(n)}};
                const auto q0 = Clock::now();
                ++s.requests;
                auto r = c.Post("/api/labels", body.dump(), "application/json");
                s.latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - q0).count());
                if (r && (r->status == 201 || r->status == 200)) {
                    s.acked.emplace_back(who, clip);
                    ++n;
                } else {
                    ++s.errors;
                }
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
    stop = true;
    for (auto& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    server.stop();
    listener.join();

    // Reopen the database on its own and compare with the acknowledgements.
    std::set<std::pair<std::string, std::string>> acked, stored;
    std::vector<double> latency;
    int64_t errors = 0, requests = 0;
    for (const auto& s : stats) {
        acked.insert(s.acked.begin(), s.acked.end());
        latency.insert(latency.end(), s.latency_ms.begin(), s.latency_ms.end());
        errors += s.errors;
        requests += s.requests;
    }
    int64_t duplicated = 0;
    {
        v2a::serve::DatabaseOptions ro;
        ro.create = false;
        v2a::serve::LabelStore reopened(db, ro);
        for (const auto& l : reopened.labels()) duplicated += !stored.emplace(l.annotator, l.clip_id).second;
    }
    int64_t lost = 0;
    for (const auto& k : acked) lost += !stored.count(k);
    json result{{"bench", "serve"},
                {"clients", a.clients},
                {"seconds", elapsed},
                {"clips", a.clips},
                {"labels_acknowledged", acked.size()},
                {"labels_in_db", stored.size()},
                {"labels_per_second", double(acked.size()) / elapsed},
                {"requests_per_second", double(requests) / elapsed},
                {"lost", lost},
                {"duplicated", duplicated},
                {"errors", errors},
                {"label_latency_ms", {{"p50", percentile(latency, 0.5)}, {"p95", percentile(latency, 0.95)},
                                      {"p99", percentile(latency, 0.99)}, {"max", percentile(latency, 1.0)}}},
                {"db", db.string()},
                {"synchronous", "FULL"},
                {"hardware_threads", std::thread::hardware_concurrency()}};
    const auto text = result.dump(2) + "\n";
    std::fputs(text.c_str(), stdout);
    if (!a.out.empty()) v2a::fs::write_atomic(a.out, text);
    if (a.db_dir.empty()) stdfs::remove_all(dir);
    return lost == 0 && duplicated == 0 ? 0 : 1;
}
