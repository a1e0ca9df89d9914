#include "v2a/serve/sqlite.h"

#include <sqlite3.h>

#include "v2a/core/error.h"

namespace v2a::serve {

Statement::Statement(sqlite3* db, const std::string& sql, const std::string& what) : db_(db), what_(what) {
    const int rc = sqlite3_prepare_v2(db, sql.c_str(), int(sql.size()), &stmt_, nullptr);
    V2A_CHECK(rc == SQLITE_OK, IO, what_, ": cannot prepare SQL: ", sqlite3_errmsg(db));
}

Statement::~Statement() {
    if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_), what_(std::move(other.what_)) {
    other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, const std::string& value) {
    const int rc = sqlite3_bind_text(stmt_, index, value.data(), int(value.size()), SQLITE_TRANSIENT);
    V2A_CHECK(rc == SQLITE_OK, IO, what_, ": cannot bind parameter ", index, ": ", sqlite3_errmsg(db_));
    return *this;
}

Statement& Statement::bind(int index, int64_t value) {
    const int rc = sqlite3_bind_int64(stmt_, index, value);
    V2A_CHECK(rc == SQLITE_OK, IO, what_, ": cannot bind parameter ", index, ": ", sqlite3_errmsg(db_));
    return *this;
}

Statement& Statement::bind_null(int index) {
    const int rc = sqlite3_bind_null(stmt_, index);
    V2A_CHECK(rc == SQLITE_OK, IO, what_, ": cannot bind parameter ", index, ": ", sqlite3_errmsg(db_));
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const std::string message = sqlite3_errmsg(db_);
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) throw UniqueViolation(message);
    fail(ErrorKind::IO, what_, ": ", message);
}

void Statement::run() {
    while (step()) {
    }
}

int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, size_t(sqlite3_column_bytes(stmt_, column))) : std::string();
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Database::Database(const std::filesystem::path& path, const DatabaseOptions& options) : path_(path) {
    if (!options.create) V2A_CHECK(std::filesystem::exists(path), IO, path.string(), ": no such database");
    const int flags = SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        fail(ErrorKind::IO, path.string(), ": cannot open database: ", message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    // Reading the journal mode back also proves the file is a database (a text file fails here).
    auto mode = prepare("PRAGMA journal_mode=WAL");
    V2A_CHECK(mode.step() && mode.text(0) == "wal", IO, path.string(), ": cannot switch the database to WAL mode");
    exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
}

Database::~Database() {
    if (db_) sqlite3_close_v2(db_);
}

void Database::exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        const std::string text = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        fail(ErrorKind::IO, path_.string(), ": ", text);
    }
}

Statement Database::prepare(const std::string& sql) { return Statement(db_, sql, path_.string()); }

int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

int64_t Database::changes() const { return sqlite3_changes(db_); }

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    if (!done_) {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {
        }
    }
}

void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

}  // namespace v2a::serve
