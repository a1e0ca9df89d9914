// What every route of `v2a serve` shares: the server's state (ServerContext), JSON bodies in and
// out, field validation, and the wrapper that turns any error into a JSON 4xx/5xx instead of a crash.
#pragma once
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "v2a/serve/clip_registry.h"
#include "v2a/serve/demo_runner.h"
#include "v2a/serve/label_store.h"
#include "v2a/serve/reservations.h"
#include "v2a/serve/server.h"

namespace v2a::serve {

/// Failed sign-ins (a wrong token at /api/login or on any guarded request) per client address: after
/// `max_failures` within `window`, every token check from that address is refused with 429 until the
/// oldest failure leaves the window, so a token cannot be brute-forced at network speed.
class FailedSignIns {
public:
    using Clock = std::chrono::steady_clock;
    explicit FailedSignIns(int max_failures = 10, Clock::duration window = std::chrono::minutes(1))
        : max_failures_(max_failures), window_(window) {}
    bool blocked(const std::string& address, Clock::time_point now = Clock::now());
    void failed(const std::string& address, Clock::time_point now = Clock::now());

private:
    void expire(std::deque<Clock::time_point>& times, Clock::time_point now) const;
    int max_failures_;
    Clock::duration window_;
    std::mutex mutex_;
    std::map<std::string, std::deque<Clock::time_point>> failures_;
};

struct ServerContext {
    ServerOptions options;
    ClipRegistry registry;
    LabelStore store;
    std::unique_ptr<DemoRunner> demo;   // null when no model was given
    Reservations reservations;          // clips / pairs on someone's screen
    FailedSignIns sign_ins;             // wrong tokens per client address
    std::mutex rng_mutex;
    std::mt19937_64 rng{std::random_device{}()};   // A/B order

    ServerContext(const ServerOptions& o, ClipRegistry r);
};

/// Wraps a route: RequestError -> its status, other v2a::Error -> 400 (500 for IO/internal), anything
/// else -> 500; always {"error": message}.
httplib::Server::Handler guarded(std::function<void(const httplib::Request&, httplib::Response&)> handler);

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, int status, const std::string& message);

/// The body of a POST as a JSON object: 415 unless Content-Type is application/json (which also keeps
/// other web sites' plain form posts out), 400 for malformed JSON or a non-object.
nlohmann::json json_body(const httplib::Request& req);

/// A string field: 400 when required and missing, not a string, over `max_bytes` or not UTF-8.
std::string string_field(const nlohmann::json& body, const char* key, bool required, size_t max_bytes = 256);
/// An integer field in [min, max]; `fallback` when missing or null.
int64_t int_field(const nlohmann::json& body, const char* key, int64_t fallback, int64_t min, int64_t max);

/// The annotator named by the body field or query parameter "annotator": trimmed, 1..64 bytes of
/// UTF-8 without control characters (400 otherwise).
std::string annotator_of(const nlohmann::json& body);
std::string annotator_of(const httplib::Request& req);

/// Constant-time comparison, so a token cannot be guessed byte by byte from response times: the time
/// depends on the secret's length only, never on the given string's length or content.
bool same_secret(const std::string& given, const std::string& secret);

/// A token check with the sign-in limit: 429 (RequestError) when `address` is blocked, false (and a
/// recorded failure) for a wrong token, true for the right one.
bool check_token(ServerContext& ctx, const std::string& address, const std::string& given);

/// The path a clip's media is served at.
std::string media_url(const Clip& clip);
/// The clip as the UI needs it.
nlohmann::json clip_json(const Clip& clip);

// Route groups, one file each.
void add_page_routes(httplib::Server& server, ServerContext& ctx);      // index, app.js, style.css, /api/info, login
void add_media_routes(httplib::Server& server, ServerContext& ctx);     // /media/clip/<id>, /media/demo/<job>.mp4
void add_rate_routes(httplib::Server& server, ServerContext& ctx);      // /api/rate/*, /api/labels*
void add_compare_routes(httplib::Server& server, ServerContext& ctx);   // /api/compare/*, /api/comparisons*
void add_agreement_routes(httplib::Server& server, ServerContext& ctx); // /api/agreement, /api/export/*
void add_demo_routes(httplib::Server& server, ServerContext& ctx);      // /api/demo/*

}  // namespace v2a::serve
