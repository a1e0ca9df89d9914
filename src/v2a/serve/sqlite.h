// A thin RAII layer over the SQLite C API. Values reach SQL only through bound parameters (never
// by building SQL text from input), and every failure is a v2a::Error naming the database.
#pragma once
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace v2a::serve {

class Statement {
public:
    Statement(sqlite3* db, const std::string& sql, const std::string& what);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;

    /// 1-based parameter index, as in SQLite.
    Statement& bind(int index, const std::string& value);
    Statement& bind(int index, int64_t value);
    Statement& bind_null(int index);

    /// Runs to the next row: true when a row is available, false when done.
    bool step();
    /// Runs a statement that returns no rows.
    void run();

    int64_t int64(int column) const;
    std::string text(int column) const;
    bool is_null(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    std::string what_;
};

struct DatabaseOptions {
    bool create = true;           // create the file when missing (export refuses to)
    int busy_timeout_ms = 10000;  // another process (an export) may hold the lock briefly
};

/// One connection in WAL mode with synchronous=FULL: a commit is on disk before it returns, so a
/// label acknowledged to a client survives kill -9 and power loss alike.
class Database {
public:
    explicit Database(const std::filesystem::path& path, const DatabaseOptions& options = {});
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// Runs fixed SQL (schema, pragmas, BEGIN/COMMIT) with no parameters.
    void exec(const std::string& sql);
    Statement prepare(const std::string& sql);
    int64_t last_insert_id() const;
    /// Rows changed by the last statement.
    int64_t changes() const;
    const std::filesystem::path& path() const { return path_; }

private:
    sqlite3* db_ = nullptr;
    std::filesystem::path path_;
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an exception left the scope).
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Database& db_;
    bool done_ = false;
};

/// SQLite's unique-constraint violation, so callers can answer 409 instead of failing.
class UniqueViolation : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace v2a::serve
