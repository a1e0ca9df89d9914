#include "v2a/io/manifest.h"

#include <map>
#include <set>

#include "v2a/core/error.h"
#include "v2a/core/text.h"
#include "v2a/core/fs.h"

namespace v2a::io {
namespace {

const char* const kRequired[] = {"id", "video", "caption", "label", "split"};

struct Record {
    std::vector<std::string> fields;
    int line = 0;  // line the record starts on
};

/// RFC-4180 records (LF or CRLF line ends; quoted fields may span lines). Blank lines are skipped.
std::vector<Record> parse_csv(const std::string& text, const std::string& what) {
    std::vector<Record> records;
    size_t i = 0;
    const size_t n = text.size();
    int line = 1;
    while (i < n) {
        Record record;
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

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    const size_t e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

stdfs::path resolve(const stdfs::path& root, const std::string& value) {
    const stdfs::path p(value);
    return (p.is_absolute() ? p : root / p).lexically_normal();
}

std::string relative_to(const stdfs::path& p, const stdfs::path& dir) {
    std::error_code ec;
    const stdfs::path abs_p = stdfs::absolute(p, ec).lexically_normal();
    const stdfs::path abs_dir = stdfs::absolute(dir.empty() ? stdfs::path(".") : dir, ec).lexically_normal();
    const stdfs::path rel = abs_p.lexically_relative(abs_dir);
    return rel.empty() ? abs_p.string() : rel.string();
}

}  // namespace

const char* split_name(Split split) {
    switch (split) {
        case Split::Train: return "train";
        case Split::Val: return "val";
        case Split::Test: return "test";
    }
    return "?";
}

std::optional<Split> parse_split(const std::string& text) {
    if (text == "train") return Split::Train;
    if (text == "val") return Split::Val;
    if (text == "test") return Split::Test;
    return std::nullopt;
}

Manifest Manifest::filter(Split split) const {
    Manifest out;
    out.path = path;
    for (const auto& row : rows)
        if (row.split == split) out.rows.push_back(row);
    return out;
}

const ManifestRow* Manifest::find(const std::string& id) const {
    for (const auto& row : rows)
        if (row.id == id) return &row;
    return nullptr;
}

Manifest parse_manifest(const std::string& raw, const stdfs::path& root, const std::string& what,
                        const ManifestOptions& options) {
    // A UTF-8 byte order mark (spreadsheet exports) is not part of the first column name.
    const std::string text = raw.compare(0, 3, "\xEF\xBB\xBF") == 0 ? raw.substr(3) : raw;
    const size_t bad = utf8_invalid_at(text);
    if (bad != std::string::npos) {
        const int line = 1 + int(std::count(text.begin(), text.begin() + std::ptrdiff_t(bad), '\n'));
        fail(ErrorKind::Data, what, ":", line, ": not valid UTF-8 (byte ", bad, ")");
    }
    const std::vector<Record> records = parse_csv(text, what);
    V2A_CHECK(!records.empty(), Data, what, ": empty manifest (expected a header line id,video,caption,label,split)");

    const Record& header = records.front();
    std::map<std::string, size_t> column;
    for (size_t c = 0; c < header.fields.size(); ++c) {
        const std::string name = trim(header.fields[c]);
        V2A_CHECK(column.emplace(name, c).second, Data, what, ":", header.line, ": column '", name,
                  "' appears twice in the header");
    }
    std::string missing;
    for (const char* name : kRequired)
        if (!column.count(name)) missing += (missing.empty() ? "" : ", ") + std::string(name);
    V2A_CHECK(missing.empty(), Data, what, ":", header.line, ": missing required column(s): ", missing,
              " (header must hold id,video,caption,label,split)");
    const auto audio_col = column.find("audio");
    const bool has_audio = audio_col != column.end();

    Manifest manifest;
    std::map<std::string, int> first_line;  // id -> line
    for (size_t r = 1; r < records.size(); ++r) {
        const Record& rec = records[r];
        V2A_CHECK(rec.fields.size() == header.fields.size(), Data, what, ":", rec.line, ": expected ",
                  header.fields.size(), " fields as in the header, got ", rec.fields.size());
        auto field = [&](const char* name) -> const std::string& { return rec.fields[column.at(name)]; };
        ManifestRow row;
        row.line = rec.line;
        row.id = field("id");
        V2A_CHECK(!trim(row.id).empty(), Data, what, ":", rec.line, ": empty id");
        const auto [it, inserted] = first_line.emplace(row.id, rec.line);
        V2A_CHECK(inserted, Data, what, ":", rec.line, ": duplicate id '", row.id, "' (first on line ", it->second,
                  ")");
        V2A_CHECK(!field("video").empty(), Data, what, ":", rec.line, ": empty video path for id '", row.id, "'");
        row.video = resolve(root, field("video"));
        row.caption = field("caption");
        row.label = field("label");
        const std::string split = trim(field("split"));
        const auto parsed = parse_split(split);
        V2A_CHECK(parsed.has_value(), Data, what, ":", rec.line, ": unknown split '", split,
                  "' (expected train, val or test)");
        row.split = *parsed;
        if (has_audio && !rec.fields[audio_col->second].empty())
            row.audio = resolve(root, rec.fields[audio_col->second]);
        if (options.check_files) {
            V2A_CHECK(stdfs::is_regular_file(row.video), Data, what, ":", rec.line, ": video file ",
                      row.video.string(), " of id '", row.id, "' does not exist");
            if (row.audio)
                V2A_CHECK(stdfs::is_regular_file(*row.audio), Data, what, ":", rec.line, ": audio file ",
                          row.audio->string(), " of id '", row.id, "' does not exist");
        }
        manifest.rows.push_back(std::move(row));
    }
    return manifest;
}

Manifest read_manifest(const stdfs::path& path, const ManifestOptions& options) {
    Manifest m = parse_manifest(fs::read_text(path), path.parent_path(), path.string(), options);
    m.path = path;
    return m;
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

std::string format_manifest(const std::vector<ManifestRow>& rows, const stdfs::path& dir) {
    bool with_audio = false;
    for (const auto& row : rows) with_audio = with_audio || row.audio.has_value();
    std::string out = with_audio ? "id,video,caption,label,split,audio\n" : "id,video,caption,label,split\n";
    for (const auto& row : rows) {
        out += csv_field(row.id) + "," + csv_field(relative_to(row.video, dir)) + "," + csv_field(row.caption) +
               "," + csv_field(row.label) + "," + split_name(row.split);
        if (with_audio) out += "," + (row.audio ? csv_field(relative_to(*row.audio, dir)) : std::string());
        out += "\n";
    }
    return out;
}

void write_manifest(const stdfs::path& path, const std::vector<ManifestRow>& rows) {
    std::set<std::string> ids;
    for (const auto& row : rows) {
        V2A_CHECK(!row.id.empty(), Data, path.string(), ": cannot write a row with an empty id");
        V2A_CHECK(ids.insert(row.id).second, Data, path.string(), ": cannot write duplicate id '", row.id, "'");
    }
    fs::write_atomic(path, format_manifest(rows, path.parent_path()));
}

}  // namespace v2a::io
