#include "v2a/io/csv.h"

#include <algorithm>

#include "v2a/core/error.h"
#include "v2a/core/text.h"

namespace v2a::io {

namespace stdfs = std::filesystem;

std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& what) {
    std::vector<CsvRecord> records;
    size_t i = 0;
    const size_t n = text.size();
    int line = 1;
    while (i < n) {
        CsvRecord record;
        record.line = line;
        // A blank line ends nothing and holds nothing.
        if (text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
            i += text[i] == '\r' ? 2 : 1;
            ++line;
            continue;
        }
        bool end_of_record = false;
        while (!end_of_record) {
            std::string field;
            if (i < n && text[i] == '"') {
                const int quote_line = line;
                ++i;
                while (true) {
                    V2A_CHECK(i < n, Data, what, ":", quote_line, ": quoted field is never closed");
                    if (text[i] == '"') {
                        if (i + 1 < n && text[i + 1] == '"') {
                            field += '"';
                            i += 2;
                            continue;
                        }
                        ++i;
                        break;
                    }
                    if (text[i] == '\n') ++line;
                    field += text[i++];
                }
                V2A_CHECK(i >= n || text[i] == ',' || text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n'),
                          Data, what, ":", line, ": unexpected character after a closing quote (a quote inside a "
                          "quoted field must be doubled)");
            } else {
                while (i < n && text[i] != ',' && text[i] != '\n' &&
                       !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
                    V2A_CHECK(text[i] != '"', Data, what, ":", line,
                              ": quote inside an unquoted field (quote the whole field and double the quote)");
                    field += text[i++];
                }
            }
            record.fields.push_back(std::move(field));
            if (i >= n) {
                end_of_record = true;
            } else if (text[i] == ',') {
                ++i;
            } else {  // line end
                i += text[i] == '\r' ? 2 : 1;
                ++line;
                end_of_record = true;
            }
        }
        records.push_back(std::move(record));
    }
    return records;
}

std::string CsvTable::missing(const std::vector<std::string>& required) const {
    std::string out;
    for (const auto& name : required)
        if (!has(name)) out += (out.empty() ? "" : ", ") + name;
    return out;
}

CsvTable parse_csv_table(const std::string& raw, const std::string& what) {
    // A UTF-8 byte order mark (spreadsheet exports) is not part of the first column name.
    const std::string text = raw.compare(0, 3, "\xEF\xBB\xBF") == 0 ? raw.substr(3) : raw;
    const size_t bad = utf8_invalid_at(text);
    if (bad != std::string::npos) {
        const int line = 1 + int(std::count(text.begin(), text.begin() + std::ptrdiff_t(bad), '\n'));
        fail(ErrorKind::Data, what, ":", line, ": not valid UTF-8 (byte ", bad, ")");
    }
    std::vector<CsvRecord> records = parse_csv(text, what);
    CsvTable table;
    if (records.empty()) return table;
    table.header = std::move(records.front());
    for (size_t c = 0; c < table.header.fields.size(); ++c) {
        const std::string name = trim_blanks(table.header.fields[c]);
        V2A_CHECK(table.column.emplace(name, c).second, Data, what, ":", table.header.line, ": column '", name,
                  "' appears twice in the header");
    }
    for (size_t r = 1; r < records.size(); ++r) {
        V2A_CHECK(records[r].fields.size() == table.header.fields.size(), Data, what, ":", records[r].line,
                  ": expected ", table.header.fields.size(), " fields as in the header, got ", records[r].fields.size());
        table.rows.push_back(std::move(records[r]));
    }
    return table;
}

std::string trim_blanks(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    const size_t e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

std::string csv_field(const std::string& value) {
    const bool quote = value.find_first_of(",\"\r\n") != std::string::npos ||
                       (!value.empty() && (value.front() == ' ' || value.back() == ' '));
    if (!quote) return value;
    std::string out = "\"";
    for (char c : value) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

stdfs::path resolve_path(const stdfs::path& root, const std::string& value) {
    const stdfs::path p(value);
    return (p.is_absolute() ? p : root / p).lexically_normal();
}

std::string relative_path(const stdfs::path& p, const stdfs::path& dir) {
    std::error_code ec;
    const stdfs::path abs_p = stdfs::absolute(p, ec).lexically_normal();
    const stdfs::path abs_dir = stdfs::absolute(dir.empty() ? stdfs::path(".") : dir, ec).lexically_normal();
    const stdfs::path rel = abs_p.lexically_relative(abs_dir);
    return rel.empty() ? abs_p.string() : rel.string();
}

}  // namespace v2a::io
