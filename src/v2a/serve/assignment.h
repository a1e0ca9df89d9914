// Which clip (Rate) or pair (Compare) an annotator sees next: one they have not labelled or skipped,
// among those still short of the configured number of raters, fewest labels first, so the clips fill
// up evenly. Ties are broken by a hash of (annotator, item): annotators working at the same time start
// on different clips instead of piling onto the same one.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "v2a/serve/clip_registry.h"

namespace v2a::serve {

/// Index into registry.clips() of the next clip to rate, or nullopt when nothing is left for them.
std::optional<size_t> next_clip(const ClipRegistry& registry, const std::map<std::string, int64_t>& label_counts,
                                const std::set<std::string>& seen, const std::string& annotator, int raters_per_clip);

/// Two clip indices of one group (a < b in manifest order) to compare next, or nullopt.
std::optional<std::pair<size_t, size_t>> next_pair(const ClipRegistry& registry,
                                                   const std::map<std::string, int64_t>& pair_counts,
                                                   const std::set<std::string>& seen, const std::string& annotator,
                                                   int raters_per_pair);

/// Clips (or pairs) that still need raters and that this annotator could take.
struct Remaining {
    int64_t for_annotator = 0;   // still open to this annotator
    int64_t complete = 0;        // items that reached the target number of raters
    int64_t total = 0;
};
Remaining remaining_clips(const ClipRegistry& registry, const std::map<std::string, int64_t>& label_counts,
                          const std::set<std::string>& seen, int raters_per_clip);
Remaining remaining_pairs(const ClipRegistry& registry, const std::map<std::string, int64_t>& pair_counts,
                          const std::set<std::string>& seen, int raters_per_pair);

}  // namespace v2a::serve
