#include "v2a/serve/agreement.h"

#include <cmath>
#include <limits>
#include <map>

#include "v2a/core/error.h"

namespace v2a::serve {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json number_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

}  // namespace

double fleiss_kappa(const std::vector<std::vector<int64_t>>& counts) {
    if (counts.empty()) return kNaN;
    const size_t k = counts.front().size();
    std::vector<double> totals(k, 0.0);
    double agreement = 0.0, ratings = 0.0;
    int64_t items = 0;
    for (const auto& row : counts) {
        V2A_CHECK(row.size() == k, Internal, "fleiss kappa: rows of different lengths");
        int64_t n = 0, same = 0;
        for (size_t j = 0; j < k; ++j) n += row[j], same += row[j] * (row[j] - 1);
        if (n < 2) continue;
        agreement += double(same) / double(n * (n - 1));
        for (size_t j = 0; j < k; ++j) totals[j] += double(row[j]);
        ratings += double(n);
        ++items;
    }
    if (items == 0) return kNaN;
    const double p_bar = agreement / double(items);
    double p_e = 0.0;
    for (double t : totals) p_e += (t / ratings) * (t / ratings);
    return p_e >= 1.0 - 1e-12 ? kNaN : (p_bar - p_e) / (1.0 - p_e);
}

double cohen_kappa(const std::vector<std::pair<int, int>>& ratings, int categories) {
    if (ratings.empty()) return kNaN;
    std::vector<double> a(size_t(categories), 0.0), b(size_t(categories), 0.0);
    double agree = 0.0;
    for (const auto& [x, y] : ratings) {
        V2A_CHECK(x >= 0 && x < categories && y >= 0 && y < categories, Internal, "cohen kappa: category out of range");
        a[size_t(x)] += 1;
        b[size_t(y)] += 1;
        agree += x == y;
    }
    const double n = double(ratings.size());
    double p_e = 0.0;
    for (int j = 0; j < categories; ++j) p_e += (a[size_t(j)] / n) * (b[size_t(j)] / n);
    return p_e >= 1.0 - 1e-12 ? kNaN : (agree / n - p_e) / (1.0 - p_e);
}

int label_index(const std::string& label) {
    if (label == "good") return 0;
    if (label == "medium") return 1;
    if (label == "bad") return 2;
    return -1;
}

AgreementReport agreement(const std::vector<LabelRow>& labels, const std::vector<std::string>& clip_ids) {
    AgreementReport r;
    std::map<std::string, size_t> row_of;
    for (const auto& id : clip_ids) {
        row_of.emplace(id, r.clips.size());
        r.clips.push_back({id});
    }
    std::map<std::string, std::map<std::string, int>> by_annotator;   // annotator -> clip -> category
    for (const auto& l : labels) {
        const int c = label_index(l.label);
        if (c < 0 || l.undone) continue;
        auto it = row_of.find(l.clip_id);
        if (it == row_of.end()) {   // a clip no longer in the manifest still counts
            it = row_of.emplace(l.clip_id, r.clips.size()).first;
            r.clips.push_back({l.clip_id});
        }
        ++r.clips[it->second].counts[c];
        by_annotator[l.annotator][l.clip_id] = c;
    }
    std::vector<std::vector<int64_t>> counts;
    for (const auto& c : r.clips) {
        counts.push_back({c.counts[0], c.counts[1], c.counts[2]});
        r.fleiss_clips += c.total() >= 2;
    }
    r.fleiss = fleiss_kappa(counts);
    for (auto a = by_annotator.begin(); a != by_annotator.end(); ++a) {
        r.annotators.emplace_back(a->first, int64_t(a->second.size()));
        for (auto b = std::next(a); b != by_annotator.end(); ++b) {
            std::vector<std::pair<int, int>> shared;
            for (const auto& [clip, x] : a->second) {
                const auto y = b->second.find(clip);
                if (y != b->second.end()) shared.emplace_back(x, y->second);
            }
            if (!shared.empty()) r.pairs.push_back({a->first, b->first, int64_t(shared.size()), cohen_kappa(shared, 3)});
        }
    }
    return r;
}

nlohmann::json AgreementReport::to_json() const {
    nlohmann::json j;
    j["clips"] = nlohmann::json::array();
    for (const auto& c : clips) {
        j["clips"].push_back({{"clip_id", c.clip_id},
                              {"good", c.counts[0]},
                              {"medium", c.counts[1]},
                              {"bad", c.counts[2]},
                              {"total", c.total()}});
    }
    j["fleiss_kappa"] = number_or_null(fleiss);
    j["fleiss_clips"] = fleiss_clips;
    j["cohen_kappa"] = nlohmann::json::array();
    for (const auto& p : pairs)
        j["cohen_kappa"].push_back({{"a", p.a}, {"b", p.b}, {"shared", p.shared}, {"kappa", number_or_null(p.kappa)}});
    j["annotators"] = nlohmann::json::array();
    for (const auto& [name, n] : annotators) j["annotators"].push_back({{"name", name}, {"labels", n}});
    return j;
}

}  // namespace v2a::serve
