#include "v2a/serve/server.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <thread>

#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/serve/http.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

namespace {

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

/// Host header without the port ("[::1]:8080" -> "::1").
std::string host_name(const std::string& header) {
    if (!header.empty() && header[0] == '[') {
        const auto end = header.find(']');
        return end == std::string::npos ? header : header.substr(1, end - 1);
    }
    return header.substr(0, header.find(':'));
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
    const auto cookies = req.get_header_value("Cookie");
    size_t at = 0;
    while (at < cookies.size()) {
        while (at < cookies.size() && (cookies[at] == ' ' || cookies[at] == ';')) ++at;
        const auto end = cookies.find(';', at);
        const auto item = cookies.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (item.rfind(name + "=", 0) == 0) return item.substr(name.size() + 1);
        if (end == std::string::npos) break;
        at = end + 1;
    }
    return {};
}

/// Paths open without the token: the page itself, and what it needs to ask for the token.
bool is_public(const std::string& path) {
    if (path == "/api/info" || path == "/api/login") return true;
    return path.rfind("/api/", 0) != 0 && path.rfind("/media/", 0) != 0;
}

}  // namespace

struct Server::Impl {
    ServerContext ctx;
    httplib::Server http;
    bool bound = false;
    // stop() may come before the accept loop runs (a signal at start-up): either listen() sees
    // stop_requested, or stop() sees listening and waits for the loop to run before ending it.
    std::atomic<bool> listening{false}, stop_requested{false};
    Impl(const ServerOptions& options, ClipRegistry clips) : ctx(options, std::move(clips)) {}
};

namespace {

ClipRegistry load_clips(const ServerOptions& options) {
    V2A_CHECK(!options.clips.empty(), Usage, "serve: --clips MANIFEST is required");
    ClipRegistryOptions o;
    o.manifest = options.clips;
    o.media_cache = options.media_cache.empty() ? std::filesystem::path(options.db.string() + ".media") : options.media_cache;
    return ClipRegistry::load(o);
}

}  // namespace

Server::Server(const ServerOptions& options) : Server(options, load_clips(options)) {}

Server::Server(const ServerOptions& options, ClipRegistry clips) {
    V2A_CHECK(!options.db.empty(), Usage, "serve: --db FILE is required");
    V2A_CHECK(options.raters_per_clip >= 1, Usage, "serve: --raters must be at least 1");
    V2A_CHECK(options.threads >= 2, Usage, "serve: --http-threads must be at least 2");
    V2A_CHECK(is_loopback(options.host) || !options.token.empty(), Usage, "serve: --host ", options.host,
              " is reachable from other machines: give --token (anyone who can reach an open server can label, "
              "undo and upload)");
    for (unsigned char c : options.token) {
        V2A_CHECK(std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~', Usage,
                  "serve: --token may hold only letters, digits and - _ . ~ (it travels in a cookie)");
    }
    impl_ = std::make_unique<Impl>(options, std::move(clips));
    auto& ctx = impl_->ctx;
    if (options.demo) ctx.demo = std::make_unique<DemoRunner>(*options.demo);
    auto& http = impl_->http;

    const int threads = options.threads;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
    const size_t upload = options.demo ? size_t(options.demo->limits.max_bytes) + (1u << 20) : 0;
    http.set_payload_max_length(std::max(options.max_json_bytes, upload));
    http.set_read_timeout(30);
    http.set_write_timeout(30);
    http.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                              {"X-Frame-Options", "DENY"},
                              {"Referrer-Policy", "no-referrer"},
                              {"Cache-Control", "no-store"},
                              {"Content-Security-Policy",
                               "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'"}});

    const bool loopback = is_loopback(options.host);
    const size_t json_limit = options.max_json_bytes;
    http.set_pre_routing_handler([&ctx, loopback, json_limit, upload](const httplib::Request& req,
                                                                      httplib::Response& res) {
        // Bound to loopback, only loopback names are served: a page elsewhere cannot reach the
        // server through a DNS name that it rebinds to 127.0.0.1.
        if (loopback && !is_loopback(host_name(req.get_header_value("Host")))) {
            send_error(res, 403, "requests must name this machine (127.0.0.1 or localhost) as Host");
            return httplib::Server::HandlerResponse::Handled;
        }
        if (!ctx.options.token.empty() && !is_public(req.path)) {
            auto token = req.get_header_value("X-V2A-Token");
            if (token.empty()) token = cookie_value(req, "v2a_token");
            bool ok = false;
            try {
                ok = check_token(ctx, req.remote_addr, token);
            } catch (const RequestError& e) {
                send_error(res, e.status(), e.what());
                return httplib::Server::HandlerResponse::Handled;
            }
            if (!ok) {
                send_error(res, 401, "this server needs its access token (sign in again)");
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        // Body limits per route, before the body is read (httplib's own limit is the largest of them):
        // the Demo upload may be large, every other body is JSON of at most --max-json-bytes.
        const bool upload_route = upload > 0 && req.method == "POST" && req.path == "/api/demo/jobs";
        if (!upload_route) {
            if (req.has_header("Transfer-Encoding")) {
                send_error(res, 411, "send a Content-Length (chunked bodies are accepted for uploads only)");
                return httplib::Server::HandlerResponse::Handled;
            }
            const auto length = req.get_header_value("Content-Length");
            const bool digits = !length.empty() && length.size() <= 18 &&
                                std::all_of(length.begin(), length.end(), [](unsigned char c) { return std::isdigit(c); });
            if (!length.empty() && (!digits || std::stoull(length) > json_limit)) {
                send_error(res, 413, "request body too large (at most " + std::to_string(json_limit) + " bytes here)");
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    // Errors raised by httplib itself (no route, payload too large, bad request line) get the same
    // JSON shape as ours.
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return;
        const char* what = res.status == 404   ? "no such endpoint"
                           : res.status == 413 ? "request body too large"
                           : res.status == 405 ? "method not allowed"
                                               : "bad request";
        send_error(res, res.status, what);
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, 500, "internal error");
    });

    add_page_routes(http, ctx);
    add_media_routes(http, ctx);
    add_rate_routes(http, ctx);
    add_compare_routes(http, ctx);
    add_agreement_routes(http, ctx);
    add_demo_routes(http, ctx);
}

Server::~Server() {
    if (impl_) impl_->http.stop();
}

int Server::bind() {
    const auto& o = impl_->ctx.options;
    if (o.port == 0) {
        port_ = impl_->http.bind_to_any_port(o.host);
        V2A_CHECK(port_ > 0, IO, "serve: cannot bind ", o.host, " to a free port");
    } else {
        V2A_CHECK(impl_->http.bind_to_port(o.host, o.port), IO, "serve: cannot bind ", o.host, ":", o.port,
                  " (in use, or not an address of this machine)");
        port_ = o.port;
    }
    impl_->bound = true;
    return port_;
}

void Server::listen() {
    if (!impl_->bound) bind();
    impl_->listening = true;
    if (impl_->stop_requested) return;
    impl_->http.listen_after_bind();
}

void Server::stop() {
    impl_->stop_requested = true;
    if (impl_->listening) {
        for (int i = 0; i < 1000 && !impl_->http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    impl_->http.stop();
}

LabelStore& Server::store() { return impl_->ctx.store; }

const ClipRegistry& Server::clips() const { return impl_->ctx.registry; }

}  // namespace v2a::serve
