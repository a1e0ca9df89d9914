#include "v2a/io/manifest.h"

#include <map>
#include <set>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"

namespace v2a::io {
namespace {

const char* const kRequired[] = {"id", "video", "caption", "label", "split"};

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

void check_file_id(const std::string& id, const std::string& where) {
    V2A_CHECK(!id.empty() && id.size() <= 200, Data, where, ": id '", id.substr(0, 64), "' must have 1-200 bytes");
    V2A_CHECK(id != "." && id != "..", Data, where, ": id '", id, "' names a folder, not a clip");
    for (const unsigned char c : id) {
        V2A_CHECK(c != '/' && c != '\\' && c >= 0x20 && c != 0x7f, Data, where, ": id '", id,
                  "' holds a path separator or control character (ids become file names)");
    }
}

const ManifestRow* Manifest::find(const std::string& id) const {
    for (const auto& row : rows)
        if (row.id == id) return &row;
    return nullptr;
}

Manifest parse_manifest(const std::string& raw, const stdfs::path& root, const std::string& what,
                        const ManifestOptions& options) {
    const CsvTable table = parse_csv_table(raw, what);
    V2A_CHECK(!table.empty(), Data, what, ": empty manifest (expected a header line id,video,caption,label,split)");
    const std::string missing = table.missing({std::begin(kRequired), std::end(kRequired)});
    V2A_CHECK(missing.empty(), Data, what, ":", table.header.line, ": missing required column(s): ", missing,
              " (header must hold id,video,caption,label,split)");
    const auto& column = table.column;
    const auto audio_col = column.find("audio");
    const bool has_audio = audio_col != column.end();
    const auto features_col = column.find("features");
    const bool has_features = features_col != column.end();

    Manifest manifest;
    std::map<std::string, int> first_line;  // id -> line
    for (const CsvRecord& rec : table.rows) {
        auto field = [&](const char* name) -> const std::string& { return rec.fields[column.at(name)]; };
        ManifestRow row;
        row.line = rec.line;
        row.id = field("id");
        V2A_CHECK(!trim_blanks(row.id).empty(), Data, what, ":", rec.line, ": empty id");
        check_file_id(row.id, what + ":" + std::to_string(rec.line));
        const auto [it, inserted] = first_line.emplace(row.id, rec.line);
        V2A_CHECK(inserted, Data, what, ":", rec.line, ": duplicate id '", row.id, "' (first on line ", it->second,
                  ")");
        V2A_CHECK(!field("video").empty(), Data, what, ":", rec.line, ": empty video path for id '", row.id, "'");
        row.video = resolve_path(root, field("video"));
        row.caption = field("caption");
        row.label = field("label");
        const std::string split = trim_blanks(field("split"));
        const auto parsed = parse_split(split);
        V2A_CHECK(parsed.has_value(), Data, what, ":", rec.line, ": unknown split '", split,
                  "' (expected train, val or test)");
        row.split = *parsed;
        if (has_audio && !rec.fields[audio_col->second].empty())
            row.audio = resolve_path(root, rec.fields[audio_col->second]);
        if (has_features && !rec.fields[features_col->second].empty())
            row.features = resolve_path(root, rec.fields[features_col->second]);
        if (options.check_files) {
            V2A_CHECK(stdfs::is_regular_file(row.video), Data, what, ":", rec.line, ": video file ",
                      row.video.string(), " of id '", row.id, "' does not exist");
            if (row.audio)
                V2A_CHECK(stdfs::is_regular_file(*row.audio), Data, what, ":", rec.line, ": audio file ",
                          row.audio->string(), " of id '", row.id, "' does not exist");
            if (row.features)
                V2A_CHECK(stdfs::is_regular_file(*row.features), Data, what, ":", rec.line, ": features file ",
                          row.features->string(), " of id '", row.id, "' does not exist");
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

std::string format_manifest(const std::vector<ManifestRow>& rows, const stdfs::path& dir) {
    bool with_audio = false, with_features = false;
    for (const auto& row : rows) {
        with_audio = with_audio || row.audio.has_value();
        with_features = with_features || row.features.has_value();
    }
    std::string out = std::string("id,video,caption,label,split") + (with_audio ? ",audio" : "") +
                      (with_features ? ",features" : "") + "\n";
    for (const auto& row : rows) {
        out += csv_field(row.id) + "," + csv_field(relative_path(row.video, dir)) + "," + csv_field(row.caption) +
               "," + csv_field(row.label) + "," + split_name(row.split);
        if (with_audio) out += "," + (row.audio ? csv_field(relative_path(*row.audio, dir)) : std::string());
        if (with_features) out += "," + (row.features ? csv_field(relative_path(*row.features, dir)) : std::string());
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
