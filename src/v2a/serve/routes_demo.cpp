// Demo: POST /api/demo/jobs (multipart: video file + prompt, negative, seed, steps, cfg) queues a
// generation; GET /api/demo/jobs/<id> reports its state; the result is /media/demo/<id>.mp4.
#include <limits>
#include <type_traits>

#include "v2a/serve/http.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

namespace {

std::string form_text(const httplib::Request& req, const char* key, size_t max_bytes) {
    if (!req.has_file(key)) return {};
    const auto item = req.get_file_value(key);
    V2A_REQUIRE(item.filename.empty(), 400, "form field \"", key, "\" must be text, not a file");
    V2A_REQUIRE(item.content.size() <= max_bytes, 400, "form field \"", key, "\" is longer than ", max_bytes, " bytes");
    return item.content;
}

template <typename T>
T form_number(const httplib::Request& req, const char* key, T fallback) {
    const auto text = form_text(req, key, 32);
    if (text.empty()) return fallback;
    try {
        size_t used = 0;
        T value;
        if constexpr (std::is_floating_point_v<T>) {
            value = T(std::stod(text, &used));
        } else if constexpr (std::is_unsigned_v<T>) {
            V2A_REQUIRE(text[0] != '-', 400, "form field \"", key, "\" must not be negative");
            value = T(std::stoull(text, &used));
        } else {
            const long long v = std::stoll(text, &used);
            V2A_REQUIRE(v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max(), 400, "form field \"",
                        key, "\" is out of range: ", text);
            value = T(v);
        }
        V2A_REQUIRE(used == text.size(), 400, "form field \"", key, "\" is not a number: ", text);
        return value;
    } catch (const std::logic_error&) {
        request_fail(400, "form field \"", key, "\" is not a number: ", text);
    }
}

nlohmann::json job_json(const DemoJob& j) {
    nlohmann::json out{{"id", j.id},       {"state", job_state_name(j.state)}, {"step", j.step},
                       {"steps", j.steps}, {"seconds", j.seconds},          {"prompt", j.request.prompt},
                       {"seed", j.request.seed}, {"cfg", j.request.cfg}};
    if (j.state == JobState::Failed) out["error"] = j.error;
    if (j.state == JobState::Done) {
        out["result"] = "/media/demo/" + j.id + ".mp4";
        out["download"] = "/media/demo/" + j.id + ".mp4?download=1";
    }
    return out;
}

DemoRunner& runner(ServerContext& ctx) {
    V2A_REQUIRE(ctx.demo != nullptr, 503, "the demo is not enabled (start v2a serve with --model and --vae)");
    return *ctx.demo;
}

}  // namespace

void add_demo_routes(httplib::Server& server, ServerContext& ctx) {
    server.Post("/api/demo/jobs", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                    auto& demo = runner(ctx);
                    // A custom header cannot be sent cross-site without a CORS preflight (never
                    // granted), so other web pages cannot post uploads through the browser.
                    V2A_REQUIRE(req.has_header("X-V2A-Request"), 403, "missing X-V2A-Request header");
                    V2A_REQUIRE(req.is_multipart_form_data(), 415, "expected multipart/form-data with a \"video\" file");
                    V2A_REQUIRE(req.has_file("video"), 400, "missing the \"video\" file");
                    DemoRequest r;
                    r.prompt = form_text(req, "prompt", 1000);
                    r.negative = form_text(req, "negative", 1000);
                    r.seed = form_number<uint64_t>(req, "seed", 42);
                    r.steps = form_number<int>(req, "steps", std::min(25, demo.options().max_steps));
                    r.cfg = form_number<double>(req, "cfg", 4.5);
                    const auto id = demo.submit(req.get_file_value("video").content, r);
                    send_json(res, 202, job_json(*demo.job(id)));
                }));
    server.Get(R"(/api/demo/jobs/([0-9a-f]{16}))", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                   const auto job = runner(ctx).job(req.matches[1].str());
                   V2A_REQUIRE(job.has_value(), 404, "no such job");
                   send_json(res, 200, job_json(*job));
               }));
}

}  // namespace v2a::serve
