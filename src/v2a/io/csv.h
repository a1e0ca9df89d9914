// RFC-4180 CSV for the files users edit or export (manifests, sample sets, label files): records
// with the line they start on, a header-indexed table, field quoting, and the path helpers that keep
// file columns relative to the CSV's folder. Every problem is a v2a::Error(Data) naming `what:line`.
#pragma once
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace v2a::io {

struct CsvRecord {
    std::vector<std::string> fields;
    int line = 0;   // 1-based line the record starts on (quoted fields may span lines)
};

/// RFC-4180 records (LF or CRLF line ends; quoted fields may span lines). Blank lines are skipped.
std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& what);

/// A CSV whose first record is a header: a UTF-8 byte order mark is dropped, the text must be valid
/// UTF-8, column names are trimmed and must be unique, every row has as many fields as the header.
struct CsvTable {
    CsvRecord header;                        // line 0 when the text holds no record at all
    std::map<std::string, size_t> column;    // name -> field index
    std::vector<CsvRecord> rows;
    bool empty() const { return header.line == 0; }
    bool has(const std::string& name) const { return column.count(name) > 0; }
    /// The required names the header lacks, comma-separated ("" when none is missing).
    std::string missing(const std::vector<std::string>& required) const;
};
CsvTable parse_csv_table(const std::string& text, const std::string& what);

/// Blanks and tabs removed at both ends.
std::string trim_blanks(const std::string& s);
/// RFC-4180 field quoting: quoted when it holds a comma, quote, CR/LF or leading/trailing space.
std::string csv_field(const std::string& value);
/// A path cell resolved against the CSV's folder (absolute cells are kept), normalised.
std::filesystem::path resolve_path(const std::filesystem::path& root, const std::string& value);
/// `p` written relative to `dir` (absolute when no relative form exists).
std::string relative_path(const std::filesystem::path& p, const std::filesystem::path& dir);

}  // namespace v2a::io
