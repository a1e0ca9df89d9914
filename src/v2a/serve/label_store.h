// The annotation database (SQLite, WAL, synchronous=FULL): ratings, A/B comparisons, skips and
// annotators. A write returns only after its commit is on disk, so an acknowledged label survives a
// kill -9. Every label is unique per (annotator, clip) while not undone, and a request id makes a
// retried POST idempotent: concurrent annotators never lose or duplicate a label.
//
// Schema (user_version 1):
//   annotators(name PK, first_seen)
//   labels(id, clip_id, label good|medium|bad, annotator, time, version, response_ms, request_id UNIQUE, undone_at)
//   comparisons(id, group_id, left_clip, right_clip, left_version, right_version, choice left|right|tie,
//               winner, annotator, time, response_ms, request_id UNIQUE, pair_key, undone_at)
//   skips(annotator, kind rate|compare, item, time)
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "v2a/serve/sqlite.h"

namespace v2a::serve {

struct LabelRow {
    int64_t id = 0;
    std::string clip_id, label, annotator, time, version, request_id;
    int64_t response_ms = -1;   // -1 = not measured
    bool undone = false;
};

struct ComparisonRow {
    int64_t id = 0;
    std::string group, left, right, left_version, right_version, choice, winner, annotator, time, request_id;
    int64_t response_ms = -1;
    bool undone = false;
};

/// Result of a write: the row id, and whether the request id had been seen (a client retry).
struct WriteResult {
    int64_t id = 0;
    bool replayed = false;
};

/// Order-free key of a pair of clips.
std::string pair_key(const std::string& a, const std::string& b);
/// UTC now as 2024-05-01T12:00:00.123Z.
std::string utc_now();

class LabelStore {
public:
    /// Opens (creating when allowed) and brings the schema up to date.
    explicit LabelStore(const std::filesystem::path& path, const DatabaseOptions& options = {});

    void add_annotator(const std::string& name);
    std::vector<std::string> annotators();

    /// `row.time` and `row.id` are set here. 409 when the annotator already rated the clip, or the
    /// request id was used for something else.
    WriteResult add_label(const LabelRow& row);
    /// Marks the annotator's latest label undone (kept for the record); nullopt when none is left.
    std::optional<LabelRow> undo_label(const std::string& annotator);
    std::vector<LabelRow> labels(bool include_undone = false);
    /// Labels per clip (not undone).
    std::map<std::string, int64_t> label_counts();

    WriteResult add_comparison(const ComparisonRow& row);
    std::optional<ComparisonRow> undo_comparison(const std::string& annotator);
    std::vector<ComparisonRow> comparisons(bool include_undone = false);
    /// Comparisons per pair_key (not undone).
    std::map<std::string, int64_t> comparison_counts();

    /// kind "rate" (item = clip id) or "compare" (item = pair key).
    void add_skip(const std::string& annotator, const std::string& kind, const std::string& item);
    /// Items the annotator labelled (not undone) or skipped, for `kind`.
    std::set<std::string> seen_by(const std::string& annotator, const std::string& kind);
    /// Labels (kind "rate") or comparisons ("compare") the annotator made, not undone.
    int64_t done_by(const std::string& annotator, const std::string& kind);

    const std::filesystem::path& path() const { return db_.path(); }

private:
    void migrate();
    std::mutex mutex_;   // one connection: a transaction must not interleave with another thread's
    Database db_;
};

}  // namespace v2a::serve
