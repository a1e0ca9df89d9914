#include "v2a/score/labels.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/csv.h"
#include "v2a/io/manifest.h"

namespace v2a::score {

namespace stdfs = std::filesystem;
using nlohmann::json;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string extension_of(const stdfs::path& path) { return lower(path.extension().string()); }

// One rating per (sample, annotator): a second one is a copy-paste or export bug, not a second opinion.
// Unknown annotators ("") may repeat: they can be different people.
void check_duplicate(std::map<std::pair<std::string, std::string>, int>& seen, const LabelRecord& r,
                     const std::string& where, int line) {
    if (r.annotator.empty()) return;
    const auto [it, inserted] = seen.emplace(std::pair{r.clip_id, r.annotator}, line);
    V2A_CHECK(inserted, Data, where, ": sample '", r.clip_id, "' is rated twice by annotator '", r.annotator,
              "' (first on line ", it->second, ")");
}

std::vector<LabelRecord> read_labels_csv(const stdfs::path& path) {
    const std::string what = path.string();
    const auto table = io::parse_csv_table(fs::read_text(path), what);
    V2A_CHECK(!table.empty(), Data, what, ": empty labels file (expected a header line clip_id,label[,annotator])");
    // `sample_id` is accepted for the id column: the id names a generated sample.
    const std::string id_col = table.has("clip_id") || !table.has("sample_id") ? "clip_id" : "sample_id";
    const std::string missing = table.missing({id_col, "label"});
    V2A_CHECK(missing.empty(), Data, what, ":", table.header.line, ": missing required column(s): ", missing,
              " (header must hold clip_id,label[,annotator])");
    const size_t c_id = table.column.at(id_col), c_label = table.column.at("label");
    const bool has_annotator = table.has("annotator");
    std::vector<LabelRecord> out;
    std::map<std::pair<std::string, std::string>, int> seen;
    for (const auto& rec : table.rows) {
        const std::string where = what + ":" + std::to_string(rec.line);
        LabelRecord r;
        r.clip_id = io::trim_blanks(rec.fields[c_id]);
        V2A_CHECK(!r.clip_id.empty(), Data, where, ": empty ", id_col);
        io::check_file_id(r.clip_id, where);
        r.rating = parse_rating(rec.fields[c_label], where);
        if (has_annotator) r.annotator = io::trim_blanks(rec.fields[table.column.at("annotator")]);
        check_duplicate(seen, r, where, rec.line);
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<LabelRecord> read_labels_jsonl(const stdfs::path& path) {
    const std::string what = path.string();
    std::ifstream in(path);
    V2A_CHECK(in.good(), IO, what, ": cannot open the labels file");
    std::vector<LabelRecord> out;
    std::map<std::pair<std::string, std::string>, int> seen;
    std::string text;
    int line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = what + ":" + std::to_string(line);
        json j;
        try {
            j = json::parse(text);
        } catch (const json::exception& e) {
            fail(ErrorKind::Data, where, ": not valid JSON (", e.what(), ")");
        }
        V2A_CHECK(j.is_object(), Data, where, ": expected a JSON object {\"clip_id\": ..., \"label\": ...}");
        const char* id_key = j.contains("clip_id") || !j.contains("sample_id") ? "clip_id" : "sample_id";
        V2A_CHECK(j.contains(id_key), Data, where, ": missing \"clip_id\"");
        V2A_CHECK(j.contains("label"), Data, where, ": missing \"label\"");
        V2A_CHECK(j[id_key].is_string(), Data, where, ": \"", id_key, "\" must be a string");
        LabelRecord r;
        r.clip_id = io::trim_blanks(j[id_key].get<std::string>());
        V2A_CHECK(!r.clip_id.empty(), Data, where, ": empty ", id_key);
        io::check_file_id(r.clip_id, where);
        const auto& label = j["label"];
        V2A_CHECK(label.is_string() || label.is_number_integer(), Data, where,
                  ": \"label\" must be good|medium|bad or 0|1|2, got ", label.dump());
        r.rating = parse_rating(label.is_string() ? label.get<std::string>() : std::to_string(label.get<int64_t>()),
                                where);
        if (j.contains("annotator") && !j["annotator"].is_null()) {
            V2A_CHECK(j["annotator"].is_string(), Data, where, ": \"annotator\" must be a string");
            r.annotator = io::trim_blanks(j["annotator"].get<std::string>());
        }
        check_duplicate(seen, r, where, line);
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

std::string rating_name(Rating r) {
    switch (r) {
        case Rating::Good: return "good";
        case Rating::Medium: return "medium";
        case Rating::Bad: return "bad";
    }
    return "?";
}

Rating parse_rating(const std::string& text, const std::string& where) {
    const std::string t = lower(io::trim_blanks(text));
    if (t == "good" || t == "0") return Rating::Good;
    if (t == "medium" || t == "1") return Rating::Medium;
    if (t == "bad" || t == "2") return Rating::Bad;
    fail(ErrorKind::Data, where, ": bad label '", text, "' (expected good, medium or bad, or 0, 1, 2)");
}

std::vector<LabelRecord> read_labels(const stdfs::path& path) {
    V2A_CHECK(stdfs::is_regular_file(path), IO, path.string(), ": labels file not found");
    const std::string ext = extension_of(path);
    if (ext == ".csv") return read_labels_csv(path);
    if (ext == ".jsonl" || ext == ".json") return read_labels_jsonl(path);
    fail(ErrorKind::Usage, path.string(), ": labels must be .csv or .jsonl (got '", ext, "')");
}

void write_labels(const stdfs::path& path, const std::vector<LabelRecord>& labels) {
    std::string out = "clip_id,label,annotator\n";
    for (const auto& r : labels) {
        V2A_CHECK(!r.clip_id.empty(), Data, path.string(), ": cannot write a label with an empty clip_id");
        out += io::csv_field(r.clip_id) + "," + rating_name(r.rating) + "," + io::csv_field(r.annotator) + "\n";
    }
    fs::write_atomic(path, out);
}

std::vector<SampleRecord> read_samples(const stdfs::path& path) {
    const std::string what = path.string();
    V2A_CHECK(stdfs::is_regular_file(path), IO, what, ": samples file not found");
    const auto table = io::parse_csv_table(fs::read_text(path), what);
    V2A_CHECK(!table.empty(), Data, what, ": empty samples file (expected a header line sample_id,clip_id,seed,audio)");
    const std::string missing = table.missing({"sample_id", "clip_id", "seed", "audio"});
    V2A_CHECK(missing.empty(), Data, what, ":", table.header.line, ": missing required column(s): ", missing,
              " (header must hold sample_id,clip_id,seed,audio)");
    auto col = [&](const char* name) { return table.column.at(name); };
    std::vector<SampleRecord> out;
    std::map<std::string, int> first_line;
    for (const auto& rec : table.rows) {
        const std::string where = what + ":" + std::to_string(rec.line);
        SampleRecord s;
        s.sample_id = io::trim_blanks(rec.fields[col("sample_id")]);
        s.clip_id = io::trim_blanks(rec.fields[col("clip_id")]);
        V2A_CHECK(!s.sample_id.empty(), Data, where, ": empty sample_id");
        V2A_CHECK(!s.clip_id.empty(), Data, where, ": empty clip_id");
        io::check_file_id(s.sample_id, where);
        io::check_file_id(s.clip_id, where);
        const auto [it, inserted] = first_line.emplace(s.sample_id, rec.line);
        V2A_CHECK(inserted, Data, where, ": duplicate sample_id '", s.sample_id, "' (first on line ", it->second, ")");
        const std::string seed = io::trim_blanks(rec.fields[col("seed")]);
        V2A_CHECK(!seed.empty() && seed.find_first_not_of("0123456789") == std::string::npos && seed.size() <= 20,
                  Data, where, ": seed '", seed, "' is not a non-negative integer");
        try {
            s.seed = std::stoull(seed);
        } catch (const std::exception&) {
            fail(ErrorKind::Data, where, ": seed '", seed, "' is out of range");
        }
        const std::string audio = io::trim_blanks(rec.fields[col("audio")]);
        V2A_CHECK(!audio.empty(), Data, where, ": empty audio path for sample '", s.sample_id, "'");
        s.audio = io::resolve_path(path.parent_path(), audio);
        out.push_back(std::move(s));
    }
    return out;
}

void write_samples(const stdfs::path& path, const std::vector<SampleRecord>& samples) {
    std::set<std::string> ids;
    std::string out = "sample_id,clip_id,seed,audio\n";
    for (const auto& s : samples) {
        V2A_CHECK(!s.sample_id.empty() && !s.clip_id.empty(), Data, path.string(),
                  ": cannot write a sample with an empty sample_id or clip_id");
        V2A_CHECK(ids.insert(s.sample_id).second, Data, path.string(), ": cannot write duplicate sample_id '",
                  s.sample_id, "'");
        out += io::csv_field(s.sample_id) + "," + io::csv_field(s.clip_id) + "," + std::to_string(s.seed) + "," +
               io::csv_field(io::relative_path(s.audio, path.parent_path())) + "\n";
    }
    fs::write_atomic(path, out);
}

std::string sample_id(const std::string& clip_id, uint64_t seed) { return clip_id + "__s" + std::to_string(seed); }

}  // namespace v2a::score
