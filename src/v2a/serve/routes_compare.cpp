// Compare: two versions of one video side by side (A/B + tie). The server draws which version is on
// the left at random for every pair it hands out, and the comparison records left and right as shown.
#include "v2a/serve/assignment.h"
#include "v2a/serve/http.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

namespace {

nlohmann::json progress(ServerContext& ctx, const std::string& annotator) {
    const auto r = remaining_pairs(ctx.registry, ctx.store.comparison_counts(), ctx.store.seen_by(annotator, "compare"),
                                   ctx.options.raters_per_clip);
    return {{"compared", ctx.store.done_by(annotator, "compare")},
            {"remaining", r.for_annotator},
            {"complete", r.complete},
            {"total", r.total},
            {"raters_per_pair", ctx.options.raters_per_clip}};
}

/// The two clips of a request, which must be different versions of the same video.
std::pair<const Clip*, const Clip*> pair_of(const ServerContext& ctx, const nlohmann::json& body) {
    const Clip* left = ctx.registry.find(string_field(body, "left", true, 1024));
    const Clip* right = ctx.registry.find(string_field(body, "right", true, 1024));
    V2A_REQUIRE(left && right, 404, "no such clip");
    V2A_REQUIRE(left != right && left->group == right->group, 400, "left and right must be two versions of one video");
    return {left, right};
}

nlohmann::json comparison_json(const ComparisonRow& c) {
    return {{"id", c.id},       {"group", c.group},   {"left", c.left},   {"right", c.right},
            {"choice", c.choice}, {"winner", c.winner}, {"time", c.time}, {"undone", c.undone}};
}

}  // namespace

void add_compare_routes(httplib::Server& server, ServerContext& ctx) {
    // POST for the reason given in routes_rate.cpp: it reserves a pair.
    server.Post("/api/compare/next", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                   const auto annotator = annotator_of(json_body(req));
                   std::optional<std::pair<size_t, size_t>> next;
                   {
                       std::lock_guard<std::mutex> lock(ctx.reservations.choosing());
                       std::map<std::string, int64_t> counts;   // reservations first: see routes_rate.cpp
                       ctx.reservations.add_to(counts, annotator, "compare");
                       for (const auto& [key, n] : ctx.store.comparison_counts()) counts[key] += n;
                       next = next_pair(ctx.registry, counts, ctx.store.seen_by(annotator, "compare"), annotator,
                                        ctx.options.raters_per_clip);
                       if (next) {
                           ctx.reservations.reserve(annotator, "compare",
                                                    pair_key(ctx.registry.clips()[next->first].id,
                                                             ctx.registry.clips()[next->second].id));
                       } else {
                           ctx.reservations.release(annotator, "compare");
                       }
                   }
                   nlohmann::json out{{"done", !next}, {"progress", progress(ctx, annotator)}};
                   if (next) {
                       bool swap;
                       {
                           std::lock_guard<std::mutex> lock(ctx.rng_mutex);
                           swap = (ctx.rng() & 1) != 0;
                       }
                       if (swap) std::swap(next->first, next->second);
                       const auto& left = ctx.registry.clips()[next->first];
                       out["group"] = left.group;
                       out["left"] = clip_json(left);
                       out["right"] = clip_json(ctx.registry.clips()[next->second]);
                   }
                   send_json(res, 200, out);
               }));
    server.Post("/api/comparisons", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                    const auto body = json_body(req);
                    ComparisonRow row;
                    row.annotator = annotator_of(body);
                    const auto [left, right] = pair_of(ctx, body);
                    row.choice = string_field(body, "choice", true, 8);
                    V2A_REQUIRE(row.choice == "left" || row.choice == "right" || row.choice == "tie", 400,
                                "choice must be left, right or tie");
                    row.group = left->group;
                    row.left = left->id;
                    row.right = right->id;
                    row.left_version = left->version;
                    row.right_version = right->version;
                    row.winner = row.choice == "left" ? left->id : row.choice == "right" ? right->id : "";
                    row.response_ms = int_field(body, "response_ms", -1, 0, 24ll * 3600 * 1000);
                    row.request_id = string_field(body, "request_id", false, 64);
                    const auto written = ctx.store.add_comparison(row);
                    ctx.reservations.release(row.annotator, "compare");
                    send_json(res, written.replayed ? 200 : 201,
                              {{"id", written.id}, {"winner", row.winner}, {"replayed", written.replayed},
                               {"progress", progress(ctx, row.annotator)}});
                }));
    server.Post("/api/comparisons/undo", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                    const auto annotator = annotator_of(json_body(req));
                    const auto undone = ctx.store.undo_comparison(annotator);
                    V2A_REQUIRE(undone.has_value(), 404, "nothing to undo");
                    nlohmann::json out{{"undone", comparison_json(*undone)}, {"progress", progress(ctx, annotator)}};
                    const Clip* l = ctx.registry.find(undone->left);
                    const Clip* r = ctx.registry.find(undone->right);
                    if (l && r) {
                        ctx.reservations.reserve(annotator, "compare", pair_key(l->id, r->id));
                        out["left"] = clip_json(*l);
                        out["right"] = clip_json(*r);
                        out["group"] = l->group;
                    }
                    send_json(res, 200, out);
                }));
    server.Post("/api/compare/skip", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                    const auto body = json_body(req);
                    const auto annotator = annotator_of(body);
                    const auto [left, right] = pair_of(ctx, body);
                    ctx.store.add_skip(annotator, "compare", pair_key(left->id, right->id));
                    ctx.reservations.release(annotator, "compare");
                    send_json(res, 200, {{"progress", progress(ctx, annotator)}});
                }));
}

}  // namespace v2a::serve
