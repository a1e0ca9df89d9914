// Rate: the next clip for an annotator, Good / Medium / Bad labels, skip, and undo of the last label.
#include <algorithm>
#include <cctype>

#include "v2a/serve/assignment.h"
#include "v2a/serve/http.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

namespace {

nlohmann::json progress(ServerContext& ctx, const std::string& annotator, const std::map<std::string, int64_t>& counts,
                        const std::set<std::string>& seen) {
    const auto r = remaining_clips(ctx.registry, counts, seen, ctx.options.raters_per_clip);
    return {{"rated", ctx.store.done_by(annotator, "rate")},
            {"remaining", r.for_annotator},
            {"complete", r.complete},
            {"total", r.total},
            {"raters_per_clip", ctx.options.raters_per_clip}};
}

nlohmann::json progress(ServerContext& ctx, const std::string& annotator) {
    return progress(ctx, annotator, ctx.store.label_counts(), ctx.store.seen_by(annotator, "rate"));
}

nlohmann::json label_json(const LabelRow& l) {
    return {{"id", l.id},           {"clip_id", l.clip_id}, {"label", l.label},     {"annotator", l.annotator},
            {"time", l.time},       {"version", l.version}, {"undone", l.undone}};
}

const Clip& registered(const ServerContext& ctx, const std::string& id) {
    const Clip* clip = ctx.registry.find(id);
    V2A_REQUIRE(clip != nullptr, 404, "no such clip: ", id);
    return *clip;
}

}  // namespace

void add_rate_routes(httplib::Server& server, ServerContext& ctx) {
    // POST, not GET: it reserves a clip, and a JSON POST cannot be sent by another site's page
    // (no CORS preflight is ever granted), while a GET could be triggered by an <img> anywhere.
    server.Post("/api/rate/next", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                   const auto annotator = annotator_of(json_body(req));
                   std::optional<size_t> next;
                   std::map<std::string, int64_t> labelled;
                   std::set<std::string> seen;
                   {
                       std::lock_guard<std::mutex> lock(ctx.reservations.choosing());
                       // Reservations before labels: a label committed (and its reservation released)
                       // in between is then counted twice, never zero times.
                       std::map<std::string, int64_t> counts;
                       ctx.reservations.add_to(counts, annotator, "rate");
                       labelled = ctx.store.label_counts();
                       seen = ctx.store.seen_by(annotator, "rate");
                       for (const auto& [id, n] : labelled) counts[id] += n;
                       next = next_clip(ctx.registry, counts, seen, annotator, ctx.options.raters_per_clip);
                       if (next) {
                           ctx.reservations.reserve(annotator, "rate", ctx.registry.clips()[*next].id);
                       } else {
                           ctx.reservations.release(annotator, "rate");
                       }
                   }
                   nlohmann::json out{{"done", !next}, {"progress", progress(ctx, annotator, labelled, seen)}};
                   if (next) out["clip"] = clip_json(ctx.registry.clips()[*next]);
                   send_json(res, 200, out);
               }));
    server.Get("/api/rate/progress", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                   send_json(res, 200, progress(ctx, annotator_of(req)));
               }));
    server.Post("/api/labels", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                    const auto body = json_body(req);
                    LabelRow row;
                    row.annotator = annotator_of(body);
                    const Clip& clip = registered(ctx, string_field(body, "clip_id", true, 1024));
                    row.clip_id = clip.id;
                    row.version = clip.version;   // what the server showed, not what the client claims
                    row.label = string_field(body, "label", true, 16);
                    std::transform(row.label.begin(), row.label.end(), row.label.begin(),
                                   [](unsigned char c) { return char(std::tolower(c)); });
                    V2A_REQUIRE(row.label == "good" || row.label == "medium" || row.label == "bad", 400,
                                "label must be good, medium or bad");
                    row.response_ms = int_field(body, "response_ms", -1, 0, 24ll * 3600 * 1000);
                    row.request_id = string_field(body, "request_id", false, 64);
                    const auto written = ctx.store.add_label(row);
                    ctx.reservations.release(row.annotator, "rate");
                    row.id = written.id;
                    // No progress here: the page asks for the next clip (which carries it) right after.
                    send_json(res, written.replayed ? 200 : 201,
                              {{"id", written.id}, {"clip_id", row.clip_id}, {"label", row.label},
                               {"replayed", written.replayed}});
                }));
    server.Post("/api/labels/undo", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                    const auto annotator = annotator_of(json_body(req));
                    const auto undone = ctx.store.undo_label(annotator);
                    V2A_REQUIRE(undone.has_value(), 404, "nothing to undo");
                    nlohmann::json out{{"undone", label_json(*undone)}, {"progress", progress(ctx, annotator)}};
                    if (const Clip* clip = ctx.registry.find(undone->clip_id)) {
                        ctx.reservations.reserve(annotator, "rate", clip->id);   // it is on their screen again
                        out["clip"] = clip_json(*clip);
                    }
                    send_json(res, 200, out);
                }));
    server.Post("/api/rate/skip", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                    const auto body = json_body(req);
                    const auto annotator = annotator_of(body);
                    const Clip& clip = registered(ctx, string_field(body, "clip_id", true, 1024));
                    ctx.store.add_skip(annotator, "rate", clip.id);
                    ctx.reservations.release(annotator, "rate");
                    send_json(res, 200, {{"skipped", clip.id}, {"progress", progress(ctx, annotator)}});
                }));
}

}  // namespace v2a::serve
