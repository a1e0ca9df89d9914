#include "v2a/serve/label_export.h"

#include <nlohmann/json.hpp>

#include <set>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/csv.h"

namespace v2a::serve {

namespace {

std::string ms_cell(int64_t ms) { return ms < 0 ? std::string() : std::to_string(ms); }

}  // namespace

std::string labels_format_for(const std::filesystem::path& out) {
    const auto ext = out.extension().string();
    if (ext == ".csv") return "csv";
    if (ext == ".jsonl" || ext == ".json") return "jsonl";
    fail(ErrorKind::Usage, out.string(), ": labels export writes .csv or .jsonl");
}

std::string format_labels(const std::vector<LabelRow>& labels, const std::string& format) {
    std::string text;
    if (format == "csv") {
        text = "clip_id,label,annotator,time,version,response_ms\n";
        for (const auto& l : labels) {
            text += io::csv_field(l.clip_id) + "," + l.label + "," + io::csv_field(l.annotator) + "," + l.time + "," +
                    io::csv_field(l.version) + "," + ms_cell(l.response_ms) + "\n";
        }
        return text;
    }
    V2A_CHECK(format == "jsonl", Usage, "labels export: unknown format ", format, " (csv or jsonl)");
    for (const auto& l : labels) {
        nlohmann::json j{{"clip_id", l.clip_id}, {"label", l.label},     {"annotator", l.annotator},
                         {"time", l.time},       {"version", l.version}, {"response_ms", nullptr}};
        if (l.response_ms >= 0) j["response_ms"] = l.response_ms;
        text += j.dump() + "\n";
    }
    return text;
}

std::string format_comparisons(const std::vector<ComparisonRow>& comparisons) {
    std::string text = "group,left,right,choice,winner,annotator,time,left_version,right_version,response_ms\n";
    for (const auto& c : comparisons) {
        text += io::csv_field(c.group) + "," + io::csv_field(c.left) + "," + io::csv_field(c.right) + "," + c.choice +
                "," + io::csv_field(c.winner) + "," + io::csv_field(c.annotator) + "," + c.time + "," +
                io::csv_field(c.left_version) + "," + io::csv_field(c.right_version) + "," + ms_cell(c.response_ms) +
                "\n";
    }
    return text;
}

LabelExportSummary export_labels(const LabelExportOptions& options) {
    const auto format = labels_format_for(options.out);
    DatabaseOptions db;
    db.create = false;
    LabelStore store(options.db, db);
    const auto labels = store.labels();
    LabelExportSummary summary;
    summary.labels = labels.size();
    std::set<std::string> annotators;
    for (const auto& l : labels) annotators.insert(l.annotator);
    summary.annotators = annotators.size();
    fs::write_atomic(options.out, format_labels(labels, format));
    if (!options.comparisons_out.empty()) {
        const auto comparisons = store.comparisons();
        summary.comparisons = comparisons.size();
        fs::write_atomic(options.comparisons_out, format_comparisons(comparisons));
    }
    return summary;
}

}  // namespace v2a::serve
