// `v2a labels export`: the web UI's ratings as a labels file for `v2a audioscore train` and the human
// pairs of `v2a pairs` (read by score::read_labels).
//   CSV   clip_id,label,annotator,time,version,response_ms      (label good|medium|bad)
//   JSONL {"clip_id", "label", "annotator", "time", "version", "response_ms"} per line
// Undone labels are left out. A/B comparisons can be exported as CSV too:
//   group,left,right,choice,winner,annotator,time,left_version,right_version,response_ms
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "v2a/serve/label_store.h"

namespace v2a::serve {

/// The labels file text; `format` is "csv" or "jsonl". response_ms is empty / null when unknown.
std::string format_labels(const std::vector<LabelRow>& labels, const std::string& format);
std::string format_comparisons(const std::vector<ComparisonRow>& comparisons);
/// "csv" or "jsonl" from the file name (.csv, .jsonl / .json); throws v2a::Error(Usage) otherwise.
std::string labels_format_for(const std::filesystem::path& out);

struct LabelExportOptions {
    std::filesystem::path db;
    std::filesystem::path out;               // .csv or .jsonl
    std::filesystem::path comparisons_out;   // optional: A/B comparisons CSV
};

struct LabelExportSummary {
    size_t labels = 0, comparisons = 0, annotators = 0;
};

/// Reads the database (which must exist; a running server may keep writing) and writes the files atomically.
LabelExportSummary export_labels(const LabelExportOptions& options);

}  // namespace v2a::serve
