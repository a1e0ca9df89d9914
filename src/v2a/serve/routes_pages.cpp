// The page and its assets, /api/info (what the UI needs to draw itself) and /api/login.
#include "v2a/core/error.h"
#include "v2a/serve/http.h"
#include "v2a/serve/request_error.h"
#include "v2a/serve/web_assets.h"

namespace v2a::serve {

namespace {

nlohmann::json info(const ServerContext& ctx) {
    int64_t pairs = 0;
    for (const auto& g : ctx.registry.groups()) pairs += int64_t(g.size() * (g.size() - 1) / 2);
    nlohmann::json demo{{"enabled", ctx.demo != nullptr}};
    if (ctx.demo) {
        const auto& o = ctx.demo->options();
        demo["duration"] = ctx.demo->duration();
        demo["max_upload_bytes"] = o.limits.max_bytes;
        demo["max_upload_seconds"] = o.limits.max_seconds;
        demo["max_steps"] = o.max_steps;
    }
    return {{"clips", ctx.registry.size()},
            {"groups", ctx.registry.groups().size()},
            {"pairs", pairs},
            {"raters_per_clip", ctx.options.raters_per_clip},
            {"token_required", !ctx.options.token.empty()},
            {"demo", demo},
            {"version", V2A_VERSION}};
}

}  // namespace

void add_page_routes(httplib::Server& server, ServerContext& ctx) {
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(web::kIndexHtml, "text/html; charset=utf-8");
    });
    server.Get("/app.js", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(web::kAppJs, "text/javascript; charset=utf-8");
    });
    server.Get("/style.css", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(web::kStyleCss, "text/css; charset=utf-8");
    });
    server.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });

    server.Get("/api/info", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
                   send_json(res, 200, info(ctx));
               }));
    server.Post("/api/login", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                    const auto body = json_body(req);
                    const auto name = annotator_of(body);
                    const auto token = string_field(body, "token", false);
                    if (!ctx.options.token.empty()) {
                        V2A_REQUIRE(check_token(ctx, req.remote_addr, token), 401, "wrong access token");
                        // HttpOnly: page scripts never see it; Strict: other sites' requests do not carry it.
                        res.set_header("Set-Cookie", "v2a_token=" + token + "; HttpOnly; SameSite=Strict; Path=/");
                    }
                    ctx.store.add_annotator(name);
                    send_json(res, 200, {{"annotator", name}});
                }));
}

}  // namespace v2a::serve
