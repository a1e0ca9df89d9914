#include "v2a/report/site.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/jsonl.h"
#include "v2a/core/log.h"
#include "v2a/core/progress.h"
#include "v2a/io/image.h"
#include "v2a/io/manifest.h"
#include "v2a/io/media.h"
#include "v2a/report/plot.h"
#include "v2a/report/spectrogram_image.h"

namespace v2a::report {
namespace stdfs = std::filesystem;
using nlohmann::json;

namespace {

json read_json_file(const stdfs::path& path, const std::string& what) {
    std::ifstream in(path);
    V2A_CHECK(in.good(), IO, path.string(), ": cannot open the ", what);
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        fail(ErrorKind::Data, path.string(), ": the ", what, " is not valid JSON (", e.what(), ")");
    }
}

/// A file name part made of [A-Za-z0-9_.-] only (system and run names come from users).
std::string slug(const std::string& name) {
    std::string s;
    for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    return s.empty() ? "_" : s;
}

/// j[key] as a number; NaN when missing, null or not a number (JSON writes NaN as null).
double num(const json& j, const std::string& key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return NAN;
    return j[key].get<double>();
}

std::string fmt(double v, int digits = 4) {
    if (!std::isfinite(v)) return "–";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

/// What a system's audio files may be (a folder of `v2a generate` output).
constexpr const char* kAudioExtensions[] = {".wav", ".flac"};

/// The audio file of clip `id` in `dir`, or empty.
stdfs::path audio_of(const stdfs::path& dir, const std::string& id) {
    for (const char* ext : kAudioExtensions) {
        auto p = dir / (id + ext);
        if (stdfs::exists(p)) return p;
    }
    return {};
}

/// True when `out` exists and is at least as new as every input (re-runs skip finished media).
bool fresh(const stdfs::path& out, const std::vector<stdfs::path>& inputs) {
    std::error_code ec;
    if (!stdfs::exists(out, ec)) return false;
    const auto t = stdfs::last_write_time(out, ec);
    for (const auto& in : inputs)
        if (stdfs::last_write_time(in, ec) > t) return false;
    return true;
}

// Metrics of the field, in table order: key, header, higher-is-better, per clip (bootstrap) or set-level.
struct MetricSpec {
    const char* key;
    const char* header;
    bool higher;
    bool per_clip;
};
constexpr MetricSpec kMetrics[] = {
    {"ib_score", "IB", true, true},          {"desync", "DeSync s", false, true},
    {"onset_f1", "onset F1", true, true},    {"av_align", "AV-Align", true, true},
    {"clap", "CLAP", true, true},            {"si_sdr", "SI-SDR dB", true, true},
    {"sim_quality", "SIM. quality", true, true}, {"sim_good", "SIM. Good rate", true, true},
    {"fd_cnn", "FD-CNN", false, false},      {"kl_cnn", "KL", false, false},
    {"is_cnn", "IS", true, false},
};

/// Per-clip value of metric `key` (DeSync: mean |offset| of the clip's windows, as metrics::desync_score).
bool clip_value(const json& clip, const std::string& key, double& out) {
    if (key == "desync") {
        if (!clip.contains("desync_offsets") || !clip["desync_offsets"].is_array() || clip["desync_offsets"].empty())
            return false;
        double s = 0;
        for (const auto& v : clip["desync_offsets"]) {
            if (!v.is_number()) return false;
            s += std::abs(v.get<double>());
        }
        out = s / double(clip["desync_offsets"].size());
        return true;
    }
    if (!clip.contains(key) || !clip[key].is_number()) return false;
    out = clip[key].get<double>();
    return std::isfinite(out);  // clip[key] is a number here
}

/// Clip id -> value of metric `key`, over the clips of an eval JSON's per_clip object that have it.
std::map<std::string, double> clip_values(const json& per_clip, const std::string& key) {
    std::map<std::string, double> out;
    double v;
    for (auto& [id, clip] : per_clip.items())
        if (clip_value(clip, key, v)) out[id] = v;
    return out;
}

std::string column_header(const MetricSpec& m) { return "<th>" + html_escape(m.header) + (m.higher ? " ↑" : " ↓") + "</th>"; }

/// An eval JSON, checked where it is read: an object whose "per_clip" and "metrics" (absent: empty) are
/// objects, so the tables can index them; anything else is an error naming the file.
json read_eval_json(const stdfs::path& path) {
    auto e = read_json_file(path, "eval JSON");
    V2A_CHECK(e.is_object(), Data, path.string(), ": an eval JSON must be an object");
    for (const char* key : {"per_clip", "metrics"}) {
        if (!e.contains(key)) e[key] = json::object();
        V2A_CHECK(e[key].is_object(), Data, path.string(), ": \"", key, "\" must be an object");
    }
    return e;
}

/// The line under a cell: the clip's onset F1, DeSync, IB and SIMULATED quality from an eval JSON.
std::string clip_note(const json& eval, const std::string& id) {
    if (eval.is_null() || !eval["per_clip"].contains(id)) return "";
    std::string line;
    double v;
    for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
             {"onset_f1", "onset F1"}, {"desync", "DeSync"}, {"ib_score", "IB"}, {"sim_quality", "SIM. quality"}})
        if (clip_value(eval["per_clip"][id], key, v)) line += (line.empty() ? "" : " · ") + label + " " + fmt(v, 3);
    return line;
}

struct System {
    SystemInput input;
    std::string slug;
    json eval;  // null when none
};

constexpr const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td.name,th.name{text-align:left}td.sig{font-weight:bold}
.note{color:#666;font-size:.85em}.grid td{vertical-align:top;text-align:left}
.cell video{width:280px;display:block}.cell img{width:280px;height:80px;display:block;image-rendering:pixelated}
.cell .m{font-size:.78em;color:#444;max-width:280px}nav a{margin-right:.8em}
img.curve{max-width:640px;margin:4px}
)";

std::string page_head(const std::string& title) {
    return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
           "</title><style>" + kStyle + "</style></head><body>\n";
}

std::string nav(int64_t pages, int64_t current) {
    std::string s = "<nav><a href=\"index.html\">summary</a>";
    for (int64_t p = 1; p <= pages; ++p) {
        const auto name = "clips_" + std::to_string(p) + ".html";
        s += p == current ? "<b>clips " + std::to_string(p) + "</b> "
                          : "<a href=\"" + name + "\">clips " + std::to_string(p) + "</a>";
    }
    return s + "</nav>\n";
}

constexpr const char* kStandIns =
    "<p class=\"note\">Stand-ins: IB, DeSync, CLAP, FD/KL/IS are measured by judges trained on the procedural "
    "benchmark (docs/JUDGES.md), not the papers' pretrained encoders; SIM. columns are the SIMULATED annotator "
    "(a programmatic stand-in for human raters, docs/AUDIOSCORE.md), not people.</p>\n";

/// "mean [lo, hi]" with a * when a paired interval excludes 0.
std::string interval_cell(const Interval& i, bool paired) {
    const bool sig = paired && (i.lo > 0 || i.hi < 0);
    return std::string("<td") + (sig ? " class=\"sig\"" : "") + ">" + (paired && i.mean > 0 ? "+" : "") +
           fmt(i.mean) + " <span class=\"note\">[" + fmt(i.lo, 3) + ", " + fmt(i.hi, 3) + "]</span>" +
           (sig ? " *" : "") + "</td>";
}

/// The eval metric table of the systems with eval JSON: per-clip metrics as mean [95% bootstrap];
/// set-level ones as they are; then the paired differences from the first such system.
std::string eval_tables(const std::vector<System>& systems, uint64_t seed) {
    std::vector<const System*> with;
    for (const auto& s : systems)
        if (!s.eval.is_null()) with.push_back(&s);
    if (with.empty()) return "";
    std::vector<const MetricSpec*> cols;  // the metrics some system has
    for (const auto& m : kMetrics) {
        for (const auto* s : with) {
            if (m.per_clip ? !clip_values(s->eval["per_clip"], m.key).empty() : s->eval["metrics"].contains(m.key)) {
                cols.push_back(&m);
                break;
            }
        }
    }
    std::ostringstream h;
    h << "<h2>Metrics (v2a eval)</h2>\n<p class=\"note\">Per-clip metrics: mean over each system's evaluated clips "
         "with a 95% bootstrap interval; FD/KL/IS are set-level (no interval). ↑ higher is better, ↓ lower.</p>\n"
      << "<table><tr><th class=\"name\">system</th><th>clips</th>";
    for (const auto* c : cols) h << column_header(*c);
    h << "</tr>\n";
    for (const auto* s : with) {
        const auto& pc = s->eval["per_clip"];
        h << "<tr><td class=\"name\">" << html_escape(s->input.name) << "</td><td>" << pc.size() << "</td>";
        for (const auto* c : cols) {
            if (c->per_clip) {
                std::vector<double> v;
                for (const auto& [id, x] : clip_values(pc, c->key)) v.push_back(x);
                h << (v.empty() ? std::string("<td>–</td>") : interval_cell(bootstrap_mean(v, seed), false));
            } else {
                h << "<td>" << fmt(num(s->eval["metrics"], c->key)) << "</td>";
            }
        }
        h << "</tr>\n";
    }
    h << "</table>\n";
    if (with.size() >= 2) {
        const auto* base = with.front();
        h << "<p class=\"note\">Paired difference from <b>" << html_escape(base->input.name)
          << "</b> over the clips both evaluated (95% bootstrap; * = the interval excludes 0).</p>\n"
          << "<table><tr><th class=\"name\">system − " << html_escape(base->input.name) << "</th>";
        for (const auto* c : cols)
            if (c->per_clip) h << column_header(*c);
        h << "</tr>\n";
        std::map<std::string, std::map<std::string, double>> theirs_by_key;  // the base's values, once per metric
        for (const auto* c : cols)
            if (c->per_clip) theirs_by_key[c->key] = clip_values(base->eval["per_clip"], c->key);
        for (size_t k = 1; k < with.size(); ++k) {
            h << "<tr><td class=\"name\">" << html_escape(with[k]->input.name) << "</td>";
            for (const auto* c : cols) {
                if (!c->per_clip) continue;
                const auto ours = clip_values(with[k]->eval["per_clip"], c->key);
                const auto& theirs = theirs_by_key[c->key];
                std::vector<double> d;
                for (const auto& [id, a] : ours)
                    if (const auto it = theirs.find(id); it != theirs.end()) d.push_back(a - it->second);
                h << (d.empty() ? std::string("<td>–</td>") : interval_cell(bootstrap_mean(d, seed), true));
            }
            h << "</tr>\n";
        }
        h << "</table>\n";
    }
    return h.str();
}

/// A committed results table: a list of rows {"system", "seeds", "metrics": {name: {mean, lo, hi}},
/// "vs_base": {...}, "vs_more_sft": {...}}.
std::string results_table_unchecked(const stdfs::path& path) {
    const auto rows = read_json_file(path, "results table");
    V2A_CHECK(rows.is_array() && !rows.empty() && rows[0].is_object() && rows[0].contains("system") &&
                  rows[0].contains("metrics"),
              Data, path.string(), ": not a results table (a list of rows with \"system\" and \"metrics\")");
    std::vector<std::string> names;
    for (const auto& r : rows) {
        V2A_CHECK(r.is_object() && r.contains("metrics") && r["metrics"].is_object(), Data, path.string(),
                  ": a row without a \"metrics\" object");
        for (auto& [k, v] : r["metrics"].items())
            if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
    }
    auto header = [&](const std::string& first) {
        std::string s = "<tr><th class=\"name\">" + html_escape(first) + "</th>";
        for (const auto& n : names)
            s += "<th>" + html_escape(n) + (n.rfind("sim_", 0) == 0 ? " (SIMULATED)" : "") + "</th>";
        return s + "</tr>\n";
    };
    auto cell = [](const json& m, bool paired) {
        if (!m.is_object()) return std::string("<td>–</td>");
        Interval i;
        i.mean = num(m, paired ? "delta" : "mean");
        i.lo = num(m, "lo");
        i.hi = num(m, "hi");
        if (!std::isfinite(i.lo)) return "<td>" + fmt(i.mean) + "</td>";
        return interval_cell(i, paired);
    };
    std::ostringstream h;
    h << "<h3>" << html_escape(path.filename().string()) << "</h3>\n<table>" << header("system");
    for (const auto& r : rows) {
        h << "<tr><td class=\"name\">" << html_escape(r.value("system", "?"));
        if (r.contains("seeds") && !r["seeds"].empty())
            h << " <span class=\"note\">(seeds " << html_escape(r["seeds"].dump()) << ")</span>";
        h << "</td>";
        for (const auto& n : names) h << cell(r["metrics"].value(n, json()), false);
        h << "</tr>\n";
    }
    h << "</table>\n";
    for (const char* vs : {"vs_base", "vs_more_sft"}) {
        bool any = false;
        for (const auto& r : rows) any = any || (r.contains(vs) && !r[vs].empty());
        if (!any) continue;
        h << "<table>" << header(std::string("system, ") + vs) ;
        for (const auto& r : rows) {
            if (!r.contains(vs) || r[vs].empty()) continue;
            h << "<tr><td class=\"name\">" << html_escape(r.value("system", "?")) << "</td>";
            for (const auto& n : names) h << cell(r[vs].is_object() ? r[vs].value(n, json()) : json(), true);
            h << "</tr>\n";
        }
        h << "</table>\n";
    }
    return h.str();
}

// Curve panels drawn from a run's metrics.jsonl: title, record kind, keys.
struct Panel {
    const char* title;
    const char* kind;
    std::vector<const char*> keys;
};
const std::vector<Panel>& panels() {
    static const std::vector<Panel> p{
        {"training loss", "train", {"loss", "flow_loss", "dpo_loss"}},
        {"held-out flow loss", "val", {"heldout_flow_loss", "loss", "loss_ema"}},
        {"preference: implicit accuracy and gradient factor", "train",
         {"implicit_acc", "gradient_factor", "negative_share", "pref_kept"}},
        {"implicit rewards", "train", {"chosen_reward", "rejected_reward", "reward_margin"}},
        {"errors vs the reference", "train", {"model_w_err", "ref_w_err", "model_l_err", "ref_l_err"}},
    };
    return p;
}

/// SVG curves of one run; returns the <img> tags (relative paths) it wrote.
std::string run_curves(const stdfs::path& run, const std::string& name, const stdfs::path& out, int64_t& count) {
    const auto records = read_jsonl(run / "metrics.jsonl");
    std::ostringstream h;
    h << "<h3>" << html_escape(name) << " <span class=\"note\">" << html_escape(run.string()) << "</span></h3>\n";
    int drawn = 0;
    for (size_t p = 0; p < panels().size(); ++p) {
        const auto& panel = panels()[p];
        std::vector<Series> series;
        for (const char* key : panel.keys) {
            Series s;
            s.name = key;
            for (const auto& r : records) {
                if (r.value("kind", "") != panel.kind || !r.contains(key) || !r[key].is_number() || !r.contains("step") ||
                    !r["step"].is_number())
                    continue;
                s.x.push_back(r["step"].get<double>());
                s.y.push_back(r[key].get<double>());
            }
            if (s.x.size() >= 2) series.push_back(std::move(s));
        }
        if (series.empty()) continue;
        const auto file = "curves/" + slug(name) + "_" + std::to_string(p) + ".svg";
        PlotOptions po;
        po.title = name + ": " + panel.title;
        po.xlabel = "update";
        po.width = 640;
        po.height = 360;
        plot_series(out / file, series, po);
        h << "<img class=\"curve\" loading=\"lazy\" alt=\"" << html_escape(po.title) << "\" src=\"" << file << "\">";
        ++drawn;
        ++count;
    }
    if (drawn == 0) h << "<p class=\"note\">no curves in its metrics.jsonl</p>";
    return h.str() + "\n";
}

/// AudioScore's reliability diagram and confusion matrix from its held-out evaluation.
std::string audioscore_section_unchecked(const stdfs::path& path, const stdfs::path& out) {
    const auto doc = read_json_file(path, "AudioScore report");
    const json* e = nullptr;
    for (const char* key : {"held_out", "audioscore_heldout"})
        if (doc.contains(key)) e = &doc[key];
    if (!e && doc.contains("reliability")) e = &doc;
    V2A_CHECK(e != nullptr && e->contains("reliability") && e->contains("confusion"), Data, path.string(),
              ": no AudioScore held-out evaluation (\"held_out\" with \"reliability\" and \"confusion\")");
    std::ostringstream h;
    h << "<h2>AudioScore (fit to SIMULATED annotator ratings)</h2>\n<p>Held-out ratings: " << fmt(num(*e, "n"))
      << ", accuracy " << fmt(num(*e, "accuracy"), 3);
    if (e->contains("majority_accuracy")) h << " (majority class " << fmt(num(*e, "majority_accuracy"), 3) << ")";
    h << ", cross-entropy " << fmt(num(*e, "cross_entropy"), 3) << ", ECE " << fmt(num(*e, "ece"), 3)
      << ".</p>\n";
    std::vector<ReliabilityBin> bins;
    for (const auto& b : (*e)["reliability"]) {
        if (!(num(b, "count") > 0)) continue;
        bins.push_back({num(b, "lower"), num(b, "upper"), int64_t(num(b, "count")), num(b, "confidence"),
                        num(b, "accuracy")});
    }
    if (!bins.empty() && gnuplot_available()) {
        plot_reliability(out / "audioscore_reliability.svg", bins, num(*e, "ece"), "AudioScore reliability (held-out)");
        h << "<img class=\"curve\" alt=\"AudioScore reliability diagram\" src=\"audioscore_reliability.svg\">\n";
    }
    const auto& c = (*e)["confusion"];
    const auto labels = c.value("labels", json::array({"good", "medium", "bad"}));
    h << "<table><tr><th class=\"name\">true \\ predicted</th>";
    for (const auto& l : labels) h << "<th>" << html_escape(l.get<std::string>()) << "</th>";
    h << "</tr>\n";
    size_t i = 0;
    for (const auto& row : c.value("matrix", json::array())) {
        h << "<tr><th class=\"name\">" << html_escape(i < labels.size() ? labels[i].get<std::string>() : "?") << "</th>";
        for (const auto& v : row) h << "<td>" << fmt(v.is_number() ? v.get<double>() : NAN) << "</td>";
        h << "</tr>\n";
        ++i;
    }
    return h.str() + "</table>\n";
}

/// Runs `f`, turning a JSON type surprise (a string where a number belongs, ...) into an error naming `path`.
template <class F>
std::string naming_json_errors(const stdfs::path& path, F&& f) {
    try {
        return f();
    } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::Data, path.string(), ": unexpected content (", e.what(), ")");
    }
}
std::string results_table(const stdfs::path& path) {
    return naming_json_errors(path, [&] { return results_table_unchecked(path); });
}
std::string audioscore_section(const stdfs::path& path, const stdfs::path& out) {
    return naming_json_errors(path, [&] { return audioscore_section_unchecked(path, out); });
}

}  // namespace

std::string html_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

Interval bootstrap_mean(const std::vector<double>& values, uint64_t seed, int resamples) {
    V2A_CHECK(!values.empty() && resamples >= 1, Usage, "bootstrap: needs values and resamples >= 1");
    Interval r;
    for (double v : values) r.mean += v / double(values.size());
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
    std::vector<double> means(static_cast<size_t>(resamples), 0.0);
    for (auto& m : means) {
        double s = 0;
        for (size_t k = 0; k < values.size(); ++k) s += values[pick(rng)];
        m = s / double(values.size());
    }
    std::sort(means.begin(), means.end());
    auto at = [&](double q) { return means[std::min(means.size() - 1, size_t(q * double(means.size() - 1) + 0.5))]; };
    r.lo = at(0.025);
    r.hi = at(0.975);
    return r;
}

ClassifiedInput classify_input(const std::string& spec) {
    ClassifiedInput c;
    std::string name;
    stdfs::path path = spec;
    if (const auto eq = spec.find('='); eq != std::string::npos && eq > 0) {
        name = spec.substr(0, eq);
        path = spec.substr(eq + 1);
    }
    V2A_CHECK(stdfs::exists(path), Usage, "report: ", path.string(), " does not exist");
    if (stdfs::is_regular_file(path)) {
        V2A_CHECK(path.extension() == ".json", Usage, "report: ", path.string(),
                  " is a file but not an eval JSON (expected the output of `v2a eval`)");
        const auto j = read_json_file(path, "eval JSON");
        V2A_CHECK(j.is_object() && j.contains("pred") && j["pred"].is_string(), Data, path.string(),
                  ": not a `v2a eval` output (no \"pred\" folder)");
        c.system.audio_dir = j["pred"].get<std::string>();
        if (c.system.audio_dir.is_relative()) c.system.audio_dir = path.parent_path() / c.system.audio_dir;
        c.system.eval_json = path;
        c.system.name = name.empty() ? path.stem().string() : name;
        return c;
    }
    auto dir = path.lexically_normal();
    if (!dir.has_filename()) dir = dir.parent_path();  // "runs/x/" names the folder x
    if (stdfs::exists(dir / "metrics.jsonl")) {
        c.kind = InputKind::Run;
        c.run = dir;
        c.system.name = name.empty() ? dir.filename().string() : name;
        return c;
    }
    bool audio = false;
    for (const auto& e : stdfs::directory_iterator(dir))
        for (const char* ext : kAudioExtensions) audio = audio || e.path().extension() == ext;
    V2A_CHECK(audio, Usage, "report: ", dir.string(),
              " is neither an eval JSON, a folder of generated audio (.wav/.flac), nor a run (metrics.jsonl)");
    c.system.audio_dir = dir;
    c.system.name = name.empty() ? dir.filename().string() : name;
    if (auto beside = stdfs::path(dir.string() + ".json"); stdfs::exists(beside)) c.system.eval_json = beside;
    return c;
}

SiteSummary write_site(const SiteOptions& o) {
    V2A_CHECK(!o.out.empty(), Usage, "report: no output folder");
    V2A_CHECK(o.page_size >= 1 && o.clips >= 0, Usage, "report: --page-size must be >= 1 and --clips >= 0");
    const auto split = io::parse_split(o.split);
    V2A_CHECK(split.has_value(), Usage, "report: unknown split '", o.split, "' (train | val | test)");
    const auto manifest = io::read_manifest(o.manifest);
    const auto rows = manifest.filter(*split);

    std::vector<System> systems;
    std::set<std::string> slugs;
    for (const auto& in : o.systems) {
        System s{in, slug(in.name), json()};
        while (!slugs.insert(s.slug).second) s.slug += "_";
        if (!in.eval_json.empty()) s.eval = read_eval_json(in.eval_json);
        systems.push_back(std::move(s));
    }
    V2A_CHECK(!systems.empty() || !o.runs.empty() || !o.tables.empty() || !o.audioscore.empty(), Usage,
              "report: nothing to show (no systems, runs, tables or AudioScore report)");

    // The clips: named ones must exist everywhere; otherwise the first ones every system has.
    std::vector<const io::ManifestRow*> chosen;
    if (!o.clip_ids.empty()) {
        for (const auto& id : o.clip_ids) {
            const auto* r = manifest.find(id);
            V2A_CHECK(r != nullptr, Usage, "report: clip '", id, "' is not in ", o.manifest.string());
            for (const auto& s : systems)
                V2A_CHECK(!audio_of(s.input.audio_dir, id).empty(), Data, "report: system '", s.input.name,
                          "' has no audio for clip '", id, "' in ", s.input.audio_dir.string());
            chosen.push_back(r);
        }
    } else {
        for (const auto& r : rows.rows) {
            if (int64_t(chosen.size()) >= o.clips) break;
            bool everywhere = true;
            for (const auto& s : systems) everywhere = everywhere && !audio_of(s.input.audio_dir, r.id).empty();
            if (everywhere) chosen.push_back(&r);  // `rows` lives to the end of this function
        }
        if (int64_t(chosen.size()) < o.clips && !systems.empty())
            V2A_LOG_WARN("report: only %zu %s clips have audio in every system (asked for %lld)", chosen.size(),
                         o.split.c_str(), (long long)o.clips);
    }

    stdfs::create_directories(o.out / "media" / "poster");
    stdfs::create_directories(o.out / "curves");
    SiteSummary summary;
    summary.clips = int64_t(chosen.size());
    summary.pages = (summary.clips + o.page_size - 1) / o.page_size;

    // Columns: the ground truth (from the manifest), then the systems.
    struct Column {
        std::string name, slug;
        const System* system;  // null: ground truth
    };
    std::vector<Column> columns;
    if (o.ground_truth) columns.push_back({"ground truth", "ground_truth", nullptr});
    for (const auto& s : systems) columns.push_back({s.input.name, s.slug, &s});
    for (const auto& c : columns) stdfs::create_directories(o.out / "media" / c.slug);

    Progress progress("report media", int64_t(chosen.size() * columns.size()), "cell");
    for (const auto* row : chosen) {
        const auto poster = o.out / "media" / "poster" / (row->id + ".png");
        if (!fresh(poster, {row->video})) {
            const auto info = io::probe(row->video);
            io::VideoDecodeOptions vo;
            vo.width = 280;
            vo.height = info.width > 0 ? std::max(2, int(std::lround(280.0 * info.height / info.width))) : 210;
            vo.duration = 0.2;
            vo.pad = io::PadPolicy::RepeatLast;
            const auto frames = io::decode_video(row->video, vo).frames;
            io::write_png(poster, frames[0]);
            ++summary.media_files;
        }
        for (const auto& c : columns) {
            stdfs::path audio_path;
            if (c.system) {
                audio_path = audio_of(c.system->input.audio_dir, row->id);
            } else {
                V2A_CHECK(row->audio.has_value(), Data, "report: clip '", row->id, "' has no ground-truth audio in ",
                          o.manifest.string(), " (use --no-ground-truth)");
                audio_path = *row->audio;
            }
            const auto base = o.out / "media" / c.slug / row->id;
            const auto mp4 = stdfs::path(base.string() + ".mp4"), mel = stdfs::path(base.string() + ".mel.png");
            if (!fresh(mp4, {audio_path, row->video}) || !fresh(mel, {audio_path})) {
                const auto audio = io::decode_audio(audio_path);
                io::mux_audio_into_video(row->video, audio, mp4);
                io::write_png(mel, spectrogram_image(audio.samples, audio.sample_rate));
                summary.media_files += 2;
            }
            progress.advance();
        }
    }
    progress.finish();

    // Clip pages.
    for (int64_t p = 1; p <= summary.pages; ++p) {
        std::ostringstream h;
        h << page_head(o.title + " — clips " + std::to_string(p)) << nav(summary.pages, p)
          << "<h1>" << html_escape(o.title) << ": clips, page " << std::to_string(p) << " of "
          << std::to_string(summary.pages) << "</h1>\n" << kStandIns
          << "<table class=\"grid\"><tr><th class=\"name\">clip</th>";
        for (const auto& c : columns) h << "<th class=\"name\">" << html_escape(c.name) << "</th>";
        h << "</tr>\n";
        for (int64_t k = (p - 1) * o.page_size; k < std::min(summary.clips, p * o.page_size); ++k) {
            const auto* row = chosen[size_t(k)];
            h << "<tr><td class=\"name\"><b>" << html_escape(row->id) << "</b><br>" << html_escape(row->label)
              << "<br><span class=\"note\">" << html_escape(row->caption) << "</span></td>";
            for (const auto& c : columns) {
                const auto rel = "media/" + c.slug + "/" + row->id;
                h << "<td class=\"cell\"><video controls preload=\"none\" poster=\"media/poster/" << row->id
                  << ".png\" src=\"" << rel << ".mp4\"></video><img loading=\"lazy\" alt=\"mel spectrogram\" src=\""
                  << rel << ".mel.png\"><div class=\"m\">"
                  << html_escape(c.system ? clip_note(c.system->eval, row->id) : "")
                  << "</div></td>";
            }
            h << "</tr>\n";
        }
        h << "</table>\n" << nav(summary.pages, p) << "</body></html>\n";
        fs::write_atomic(o.out / ("clips_" + std::to_string(p) + ".html"), h.str());
    }

    // Summary page.
    std::ostringstream h;
    h << page_head(o.title) << nav(summary.pages, 0) << "<h1>" << html_escape(o.title) << "</h1>\n" << kStandIns;
    if (!columns.empty()) {
        h << "<h2>Systems</h2>\n<ul>";
        for (const auto& c : columns) {
            h << "<li><b>" << html_escape(c.name) << "</b> <span class=\"note\">"
              << html_escape(c.system ? c.system->input.audio_dir.string() : o.manifest.string()) << "</span></li>";
        }
        h << "</ul>\n<p>" << std::to_string(summary.clips) << " " << html_escape(o.split) << " clips on "
          << std::to_string(summary.pages) << " page(s) of at most " << std::to_string(o.page_size) << ".</p>\n";
    }
    h << eval_tables(systems, o.seed);
    if (!o.tables.empty()) {
        h << "<h2>Result tables</h2>\n<p class=\"note\">Committed summaries (docs/results): mean [95% interval] per "
             "row; differences with * when the paired interval excludes 0.</p>\n";
        for (const auto& t : o.tables) h << results_table(t);
    }
    if (!o.runs.empty()) {
        h << "<h2>Training curves</h2>\n";
        if (gnuplot_available()) {
            std::set<std::string> names;
            for (const auto& run : o.runs) {
                auto name = run.filename().string();
                while (!names.insert(name).second) name += "_";
                h << run_curves(run, name, o.out, summary.curves);
            }
        } else {
            h << "<p class=\"note\">gnuplot is not installed: no curves (Debian package gnuplot-nox).</p>\n";
        }
    }
    if (!o.audioscore.empty()) h << audioscore_section(o.audioscore, o.out);
    h << "</body></html>\n";
    summary.index = o.out / "index.html";
    fs::write_atomic(summary.index, h.str());
    return summary;
}

}  // namespace v2a::report
