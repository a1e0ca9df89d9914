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
    if (given.size() != secret.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < secret.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ secret[i]);
    return diff == 0;
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
