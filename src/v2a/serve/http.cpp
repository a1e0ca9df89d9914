#include "v2a/serve/http.h"

#include <c10/util/Exception.h>

#include <cctype>

#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/core/text.h"
#include "v2a/io/csv.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

ServerContext::ServerContext(const ServerOptions& o, ClipRegistry r)
    : options(o), registry(std::move(r)), store(o.db) {}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, status, {{"error", message}});
}

httplib::Server::Handler guarded(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
        try {
            handler(req, res);
        } catch (const RequestError& e) {
            send_error(res, e.status(), e.what());
        } catch (const Error& e) {
            const bool client = e.kind() == ErrorKind::Usage || e.kind() == ErrorKind::Data;
            if (!client) V2A_LOG_WARN("serve: %s %s: %s", req.method.c_str(), req.path.c_str(), e.what());
            send_error(res, client ? 400 : 500, e.what());
        } catch (const c10::Error& e) {
            V2A_LOG_WARN("serve: %s %s: %s", req.method.c_str(), req.path.c_str(), e.what_without_backtrace());
            send_error(res, 500, e.what_without_backtrace());
        } catch (const std::exception& e) {
            V2A_LOG_WARN("serve: %s %s: %s", req.method.c_str(), req.path.c_str(), e.what());
            send_error(res, 500, e.what());
        } catch (...) {
            send_error(res, 500, "internal error");
        }
    };
}

nlohmann::json json_body(const httplib::Request& req) {
    const auto type = req.get_header_value("Content-Type");
    V2A_REQUIRE(type.rfind("application/json", 0) == 0, 415, "expected a JSON body (Content-Type: application/json)");
    nlohmann::json body;
    try {
        body = nlohmann::json::parse(req.body);
    } catch (const nlohmann::json::parse_error& e) {
        request_fail(400, "bad JSON: ", e.what());
    }
    V2A_REQUIRE(body.is_object(), 400, "bad JSON: expected an object");
    return body;
}

std::string string_field(const nlohmann::json& body, const char* key, bool required, size_t max_bytes) {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
        V2A_REQUIRE(!required, 400, "missing field \"", key, "\"");
        return {};
    }
    V2A_REQUIRE(it->is_string(), 400, "field \"", key, "\" must be a string");
    auto value = it->get<std::string>();
    V2A_REQUIRE(value.size() <= max_bytes, 400, "field \"", key, "\" is longer than ", max_bytes, " bytes");
    V2A_REQUIRE(utf8_invalid_at(value) == std::string::npos, 400, "field \"", key, "\" is not valid UTF-8");
    V2A_REQUIRE(!required || !value.empty(), 400, "field \"", key, "\" is empty");
    return value;
}

int64_t int_field(const nlohmann::json& body, const char* key, int64_t fallback, int64_t min, int64_t max) {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) return fallback;
    V2A_REQUIRE(it->is_number_integer() || it->is_number_unsigned(), 400, "field \"", key, "\" must be an integer");
    V2A_REQUIRE(!it->is_number_unsigned() || it->get<uint64_t>() <= uint64_t(max), 400, "field \"", key,
                "\" must be in ", min, "..", max);
    const auto v = it->get<int64_t>();
    V2A_REQUIRE(v >= min && v <= max, 400, "field \"", key, "\" must be in ", min, "..", max);
    return v;
}

bool same_secret(const std::string& given, const std::string& secret) {
    // Always secret.size() steps; a shorter given string reads as zeros, its length enters only the
    // final OR, so neither its length nor its first differing byte shows in the time taken.
    size_t diff = given.size() ^ secret.size();
    const size_t n = given.size();
    for (size_t i = 0; i < secret.size(); ++i) {
        const unsigned char g = static_cast<unsigned char>(n ? given[i % n] : 0);
        diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(secret[i]));
    }
    return diff == 0;
}

void FailedSignIns::expire(std::deque<Clock::time_point>& times, Clock::time_point now) const {
    while (!times.empty() && now - times.front() >= window_) times.pop_front();
}

bool FailedSignIns::blocked(const std::string& address, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = failures_.find(address);
    if (it == failures_.end()) return false;
    expire(it->second, now);
    if (it->second.empty()) {
        failures_.erase(it);
        return false;
    }
    return int(it->second.size()) >= max_failures_;
}

void FailedSignIns::failed(const std::string& address, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& times = failures_[address];
    expire(times, now);
    times.push_back(now);
    if (failures_.size() > 10000) {  // bounded memory whatever the number of addresses
        for (auto it = failures_.begin(); it != failures_.end();) {
            expire(it->second, now);
            it = it->second.empty() ? failures_.erase(it) : std::next(it);
        }
    }
}

bool check_token(ServerContext& ctx, const std::string& address, const std::string& given) {
    V2A_REQUIRE(!ctx.sign_ins.blocked(address), 429, "too many wrong access tokens from this address; wait a minute");
    if (same_secret(given, ctx.options.token)) return true;
    ctx.sign_ins.failed(address);
    return false;
}

namespace {

std::string valid_annotator(const std::string& raw) {
    const auto name = io::trim_blanks(raw);
    V2A_REQUIRE(!name.empty(), 400, "annotator name is empty");
    V2A_REQUIRE(name.size() <= 64, 400, "annotator name is longer than 64 bytes");
    V2A_REQUIRE(utf8_invalid_at(name) == std::string::npos, 400, "annotator name is not valid UTF-8");
    for (unsigned char c : name) V2A_REQUIRE(c >= 0x20 && c != 0x7f, 400, "annotator name holds a control character");
    return name;
}

}  // namespace

std::string annotator_of(const nlohmann::json& body) { return valid_annotator(string_field(body, "annotator", true)); }

std::string annotator_of(const httplib::Request& req) {
    V2A_REQUIRE(req.has_param("annotator"), 400, "missing query parameter \"annotator\"");
    return valid_annotator(req.get_param_value("annotator"));
}

std::string media_url(const Clip& clip) {
    static const char* hex = "0123456789ABCDEF";
    std::string out = "/media/clip/";
    for (unsigned char c : clip.id) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

nlohmann::json clip_json(const Clip& clip) {
    return {{"id", clip.id},           {"group", clip.group},     {"variant", clip.variant},
            {"caption", clip.caption}, {"version", clip.version}, {"media", media_url(clip)}};
}

}  // namespace v2a::serve
