#include "v2a/serve/assignment.h"

#include <functional>
#include <tuple>

#include "v2a/serve/label_store.h"

namespace v2a::serve {

namespace {

uint64_t spread(const std::string& annotator, const std::string& item) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : annotator + '\0' + item) h = (h ^ c) * 1099511628211ULL;
    return h;
}

int64_t count_of(const std::map<std::string, int64_t>& counts, const std::string& key) {
    const auto it = counts.find(key);
    return it == counts.end() ? 0 : it->second;
}

/// Calls fn(pair key, a, b) for every pair of versions within each group.
void for_each_pair(const ClipRegistry& registry, const std::function<void(const std::string&, size_t, size_t)>& fn) {
    for (const auto& group : registry.groups()) {
        for (size_t i = 0; i < group.size(); ++i) {
            for (size_t j = i + 1; j < group.size(); ++j) {
                fn(pair_key(registry.clips()[group[i]].id, registry.clips()[group[j]].id), group[i], group[j]);
            }
        }
    }
}

}  // namespace

std::optional<size_t> next_clip(const ClipRegistry& registry, const std::map<std::string, int64_t>& label_counts,
                                const std::set<std::string>& seen, const std::string& annotator, int raters_per_clip) {
    std::optional<size_t> best;
    std::tuple<int64_t, uint64_t> best_key{};
    for (size_t i = 0; i < registry.size(); ++i) {
        const auto& id = registry.clips()[i].id;
        const int64_t n = count_of(label_counts, id);
        if (n >= raters_per_clip || seen.count(id)) continue;
        const auto key = std::make_tuple(n, spread(annotator, id));
        if (!best || key < best_key) best = i, best_key = key;
    }
    return best;
}

std::optional<std::pair<size_t, size_t>> next_pair(const ClipRegistry& registry,
                                                   const std::map<std::string, int64_t>& pair_counts,
                                                   const std::set<std::string>& seen, const std::string& annotator,
                                                   int raters_per_pair) {
    std::optional<std::pair<size_t, size_t>> best;
    std::tuple<int64_t, uint64_t> best_key{};
    for_each_pair(registry, [&](const std::string& key, size_t a, size_t b) {
        const int64_t n = count_of(pair_counts, key);
        if (n >= raters_per_pair || seen.count(key)) return;
        const auto k = std::make_tuple(n, spread(annotator, key));
        if (!best || k < best_key) best = std::make_pair(a, b), best_key = k;
    });
    return best;
}

Remaining remaining_clips(const ClipRegistry& registry, const std::map<std::string, int64_t>& label_counts,
                          const std::set<std::string>& seen, int raters_per_clip) {
    Remaining r;
    for (const auto& c : registry.clips()) {
        const bool full = count_of(label_counts, c.id) >= raters_per_clip;
        r.complete += full;
        r.for_annotator += !full && !seen.count(c.id);
        ++r.total;
    }
    return r;
}

Remaining remaining_pairs(const ClipRegistry& registry, const std::map<std::string, int64_t>& pair_counts,
                          const std::set<std::string>& seen, int raters_per_pair) {
    Remaining r;
    for_each_pair(registry, [&](const std::string& key, size_t, size_t) {
        const bool full = count_of(pair_counts, key) >= raters_per_pair;
        r.complete += full;
        r.for_annotator += !full && !seen.count(key);
        ++r.total;
    });
    return r;
}

}  // namespace v2a::serve
