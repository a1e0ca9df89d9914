#include "v2a/serve/label_store.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "v2a/core/error.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS annotators(
  name TEXT PRIMARY KEY,
  first_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  clip_id TEXT NOT NULL,
  label TEXT NOT NULL CHECK(label IN ('good','medium','bad')),
  annotator TEXT NOT NULL,
  time TEXT NOT NULL,
  version TEXT NOT NULL,
  response_ms INTEGER,
  request_id TEXT UNIQUE,
  undone_at TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS labels_one_per_annotator ON labels(annotator, clip_id) WHERE undone_at IS NULL;
CREATE INDEX IF NOT EXISTS labels_by_clip ON labels(clip_id);
CREATE TABLE IF NOT EXISTS comparisons(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_id TEXT NOT NULL,
  left_clip TEXT NOT NULL,
  right_clip TEXT NOT NULL,
  left_version TEXT NOT NULL,
  right_version TEXT NOT NULL,
  choice TEXT NOT NULL CHECK(choice IN ('left','right','tie')),
  winner TEXT NOT NULL,
  annotator TEXT NOT NULL,
  time TEXT NOT NULL,
  response_ms INTEGER,
  request_id TEXT UNIQUE,
  pair_key TEXT NOT NULL,
  undone_at TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS comparisons_one_per_annotator ON comparisons(annotator, pair_key) WHERE undone_at IS NULL;
CREATE TABLE IF NOT EXISTS skips(
  annotator TEXT NOT NULL,
  kind TEXT NOT NULL CHECK(kind IN ('rate','compare')),
  item TEXT NOT NULL,
  time TEXT NOT NULL,
  PRIMARY KEY(annotator, kind, item));
)SQL";

constexpr const char* kLabelColumns =
    "id, clip_id, label, annotator, time, version, response_ms, request_id, undone_at IS NOT NULL";
constexpr const char* kComparisonColumns =
    "id, group_id, left_clip, right_clip, left_version, right_version, choice, winner, annotator, time, "
    "response_ms, request_id, undone_at IS NOT NULL";

LabelRow read_label(const Statement& s) {
    LabelRow r;
    r.id = s.int64(0);
    r.clip_id = s.text(1);
    r.label = s.text(2);
    r.annotator = s.text(3);
    r.time = s.text(4);
    r.version = s.text(5);
    r.response_ms = s.is_null(6) ? -1 : s.int64(6);
    r.request_id = s.text(7);
    r.undone = s.int64(8) != 0;
    return r;
}

ComparisonRow read_comparison(const Statement& s) {
    ComparisonRow r;
    r.id = s.int64(0);
    r.group = s.text(1);
    r.left = s.text(2);
    r.right = s.text(3);
    r.left_version = s.text(4);
    r.right_version = s.text(5);
    r.choice = s.text(6);
    r.winner = s.text(7);
    r.annotator = s.text(8);
    r.time = s.text(9);
    r.response_ms = s.is_null(10) ? -1 : s.int64(10);
    r.request_id = s.text(11);
    r.undone = s.int64(12) != 0;
    return r;
}

void bind_optional(Statement& s, int index, const std::string& value) {
    if (value.empty()) {
        s.bind_null(index);
    } else {
        s.bind(index, value);
    }
}

void bind_response_ms(Statement& s, int index, int64_t ms) {
    if (ms < 0) {
        s.bind_null(index);
    } else {
        s.bind(index, ms);
    }
}

}  // namespace

std::string pair_key(const std::string& a, const std::string& b) {
    return a < b ? a + "\n" + b : b + "\n" + a;
}

std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms));
    return buf;
}

LabelStore::LabelStore(const std::filesystem::path& path, const DatabaseOptions& options) : db_(path, options) {
    migrate();
}

void LabelStore::migrate() {
    std::lock_guard<std::mutex> lock(mutex_);
    auto v = db_.prepare("PRAGMA user_version");
    V2A_CHECK(v.step(), IO, db_.path().string(), ": cannot read the schema version");
    const int64_t version = v.int64(0);
    V2A_CHECK(version <= kSchemaVersion, Data, db_.path().string(), ": schema version ", version,
              " is newer than this v2a (", kSchemaVersion, ")");
    if (version == kSchemaVersion) return;
    if (version == 0) {
        // A database that is not ours (has tables but no version) is refused rather than altered.
        auto t = db_.prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT IN "
                             "('annotators','labels','comparisons','skips')");
        V2A_CHECK(t.step() && t.int64(0) == 0, Data, db_.path().string(), ": not a v2a labels database");
    }
    Transaction tx(db_);
    db_.exec(kSchema);
    db_.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
    tx.commit();
}

void LabelStore::add_annotator(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    db_.prepare("INSERT OR IGNORE INTO annotators(name, first_seen) VALUES(?, ?)").bind(1, name).bind(2, utc_now()).run();
}

std::vector<std::string> LabelStore::annotators() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    auto s = db_.prepare("SELECT name FROM annotators ORDER BY name");
    while (s.step()) out.push_back(s.text(0));
    return out;
}

WriteResult LabelStore::add_label(const LabelRow& row) {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction tx(db_);
    if (!row.request_id.empty()) {
        auto seen = db_.prepare("SELECT id, clip_id, annotator, label FROM labels WHERE request_id = ?");
        seen.bind(1, row.request_id);
        if (seen.step()) {
            V2A_REQUIRE(seen.text(1) == row.clip_id && seen.text(2) == row.annotator && seen.text(3) == row.label, 409,
                        "request_id ", row.request_id, " was already used for another label");
            return {seen.int64(0), true};
        }
    }
    auto insert = db_.prepare(
        "INSERT INTO labels(clip_id, label, annotator, time, version, response_ms, request_id) "
        "VALUES(?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, row.clip_id).bind(2, row.label).bind(3, row.annotator).bind(4, utc_now()).bind(5, row.version);
    bind_response_ms(insert, 6, row.response_ms);
    bind_optional(insert, 7, row.request_id);
    try {
        insert.run();
    } catch (const UniqueViolation&) {
        request_fail(409, row.annotator, " already rated ", row.clip_id, " (undo it to rate it again)");
    }
    const int64_t id = db_.last_insert_id();
    tx.commit();
    return {id, false};
}

std::optional<LabelRow> LabelStore::undo_label(const std::string& annotator) {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction tx(db_);
    auto last = db_.prepare(std::string("SELECT ") + kLabelColumns +
                            " FROM labels WHERE annotator = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1");
    last.bind(1, annotator);
    if (!last.step()) return std::nullopt;
    auto row = read_label(last);
    db_.prepare("UPDATE labels SET undone_at = ? WHERE id = ?").bind(1, utc_now()).bind(2, row.id).run();
    tx.commit();
    row.undone = true;
    return row;
}

std::vector<LabelRow> LabelStore::labels(bool include_undone) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<LabelRow> out;
    auto s = db_.prepare(std::string("SELECT ") + kLabelColumns + " FROM labels" +
                         (include_undone ? "" : " WHERE undone_at IS NULL") + " ORDER BY id");
    while (s.step()) out.push_back(read_label(s));
    return out;
}

std::map<std::string, int64_t> LabelStore::label_counts() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<std::string, int64_t> out;
    auto s = db_.prepare("SELECT clip_id, count(*) FROM labels WHERE undone_at IS NULL GROUP BY clip_id");
    while (s.step()) out[s.text(0)] = s.int64(1);
    return out;
}

WriteResult LabelStore::add_comparison(const ComparisonRow& row) {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction tx(db_);
    const auto key = pair_key(row.left, row.right);
    if (!row.request_id.empty()) {
        auto seen = db_.prepare("SELECT id, pair_key, annotator, choice FROM comparisons WHERE request_id = ?");
        seen.bind(1, row.request_id);
        if (seen.step()) {
            V2A_REQUIRE(seen.text(1) == key && seen.text(2) == row.annotator && seen.text(3) == row.choice, 409,
                        "request_id ", row.request_id, " was already used for another comparison");
            return {seen.int64(0), true};
        }
    }
    auto insert = db_.prepare(
        "INSERT INTO comparisons(group_id, left_clip, right_clip, left_version, right_version, choice, winner, "
        "annotator, time, response_ms, request_id, pair_key) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, row.group).bind(2, row.left).bind(3, row.right).bind(4, row.left_version).bind(5, row.right_version);
    insert.bind(6, row.choice).bind(7, row.winner).bind(8, row.annotator).bind(9, utc_now());
    bind_response_ms(insert, 10, row.response_ms);
    bind_optional(insert, 11, row.request_id);
    insert.bind(12, key);
    try {
        insert.run();
    } catch (const UniqueViolation&) {
        request_fail(409, row.annotator, " already compared ", row.left, " and ", row.right);
    }
    const int64_t id = db_.last_insert_id();
    tx.commit();
    return {id, false};
}

std::optional<ComparisonRow> LabelStore::undo_comparison(const std::string& annotator) {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction tx(db_);
    auto last = db_.prepare(std::string("SELECT ") + kComparisonColumns +
                            " FROM comparisons WHERE annotator = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1");
    last.bind(1, annotator);
    if (!last.step()) return std::nullopt;
    auto row = read_comparison(last);
    db_.prepare("UPDATE comparisons SET undone_at = ? WHERE id = ?").bind(1, utc_now()).bind(2, row.id).run();
    tx.commit();
    row.undone = true;
    return row;
}

std::vector<ComparisonRow> LabelStore::comparisons(bool include_undone) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<ComparisonRow> out;
    auto s = db_.prepare(std::string("SELECT ") + kComparisonColumns + " FROM comparisons" +
                         (include_undone ? "" : " WHERE undone_at IS NULL") + " ORDER BY id");
    while (s.step()) out.push_back(read_comparison(s));
    return out;
}

std::map<std::string, int64_t> LabelStore::comparison_counts() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<std::string, int64_t> out;
    auto s = db_.prepare("SELECT pair_key, count(*) FROM comparisons WHERE undone_at IS NULL GROUP BY pair_key");
    while (s.step()) out[s.text(0)] = s.int64(1);
    return out;
}

void LabelStore::add_skip(const std::string& annotator, const std::string& kind, const std::string& item) {
    std::lock_guard<std::mutex> lock(mutex_);
    db_.prepare("INSERT OR IGNORE INTO skips(annotator, kind, item, time) VALUES(?, ?, ?, ?)")
        .bind(1, annotator)
        .bind(2, kind)
        .bind(3, item)
        .bind(4, utc_now())
        .run();
}

std::set<std::string> LabelStore::seen_by(const std::string& annotator, const std::string& kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::set<std::string> out;
    auto done = db_.prepare(kind == "rate"
                                ? "SELECT clip_id FROM labels WHERE annotator = ? AND undone_at IS NULL"
                                : "SELECT pair_key FROM comparisons WHERE annotator = ? AND undone_at IS NULL");
    done.bind(1, annotator);
    while (done.step()) out.insert(done.text(0));
    auto skipped = db_.prepare("SELECT item FROM skips WHERE annotator = ? AND kind = ?");
    skipped.bind(1, annotator).bind(2, kind);
    while (skipped.step()) out.insert(skipped.text(0));
    return out;
}

int64_t LabelStore::done_by(const std::string& annotator, const std::string& kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare(kind == "rate" ? "SELECT count(*) FROM labels WHERE annotator = ? AND undone_at IS NULL"
                                        : "SELECT count(*) FROM comparisons WHERE annotator = ? AND undone_at IS NULL");
    s.bind(1, annotator);
    return s.step() ? s.int64(0) : 0;
}

}  // namespace v2a::serve
