// Agreement (label counts per clip, Fleiss' and Cohen's kappa, A/B tallies) and the exports.
#include "v2a/serve/agreement.h"
#include "v2a/serve/http.h"
#include "v2a/serve/label_export.h"

namespace v2a::serve {

namespace {

/// Wins of each version per compared pair, as shown in the Agreement tab.
nlohmann::json comparison_tally(const std::vector<ComparisonRow>& rows) {
    std::map<std::string, nlohmann::json> pairs;
    for (const auto& c : rows) {
        const bool ordered = c.left < c.right;
        const auto& a = ordered ? c.left : c.right;
        const auto& b = ordered ? c.right : c.left;
        auto& p = pairs[pair_key(a, b)];
        if (p.is_null()) p = {{"group", c.group}, {"a", a}, {"b", b}, {"a_wins", 0}, {"b_wins", 0}, {"ties", 0}};
        if (c.winner.empty()) {
            p["ties"] = p["ties"].get<int64_t>() + 1;
        } else {
            const char* key = c.winner == a ? "a_wins" : "b_wins";
            p[key] = p[key].get<int64_t>() + 1;
        }
    }
    nlohmann::json out = nlohmann::json::array();
    for (auto& [key, p] : pairs) out.push_back(std::move(p));
    return out;
}

void send_export(httplib::Response& res, const std::string& text, const std::string& type, const std::string& name) {
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    res.set_content(text, type);
}

}  // namespace

void add_agreement_routes(httplib::Server& server, ServerContext& ctx) {
    server.Get("/api/agreement", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
                   std::vector<std::string> ids;
                   for (const auto& c : ctx.registry.clips()) ids.push_back(c.id);
                   auto out = agreement(ctx.store.labels(), ids).to_json();
                   const auto comparisons = ctx.store.comparisons();
                   out["comparisons"] = comparisons.size();
                   out["pairs"] = comparison_tally(comparisons);
                   out["raters_per_clip"] = ctx.options.raters_per_clip;
                   send_json(res, 200, out);
               }));
    server.Get("/api/export/labels.csv", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
                   send_export(res, format_labels(ctx.store.labels(), "csv"), "text/csv; charset=utf-8", "labels.csv");
               }));
    server.Get("/api/export/labels.jsonl", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
                   send_export(res, format_labels(ctx.store.labels(), "jsonl"), "application/x-ndjson", "labels.jsonl");
               }));
    server.Get("/api/export/comparisons.csv", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
                   send_export(res, format_comparisons(ctx.store.comparisons()), "text/csv; charset=utf-8",
                               "comparisons.csv");
               }));
}

}  // namespace v2a::serve
