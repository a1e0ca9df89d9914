#include "v2a/pairs/pair_store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/safetensors.h"

namespace v2a::pairs {

namespace {

nlohmann::json candidate_json(const Candidate& c) {
    nlohmann::json j = {{"seed", c.seed}, {"p", {c.probs[0], c.probs[1], c.probs[2]}}};
    if (!c.sample_id.empty()) j["sample_id"] = c.sample_id;
    if (std::isfinite(c.score)) j["score"] = c.score;
    return j;
}

Candidate candidate_from(const nlohmann::json& j) {
    Candidate c;
    c.seed = j.at("seed").get<uint64_t>();
    const auto& p = j.at("p");
    V2A_CHECK(p.is_array() && p.size() == 3, Data, "\"p\" must hold 3 probabilities");
    for (size_t k = 0; k < 3; ++k) c.probs[k] = p[k].get<double>();
    c.sample_id = j.value("sample_id", "");
    if (j.contains("score")) c.score = j.at("score").get<double>();
    return c;
}

// Lines of a JSONL file; a last line without its newline (a write torn by a kill) is dropped and,
// when `repair`, cut off the file so appends start on a fresh line.
std::vector<std::string> read_lines(const std::filesystem::path& path, bool repair) {
    std::vector<std::string> lines;
    if (!std::filesystem::exists(path)) return lines;
    const std::string text = fs::read_text(path);
    size_t start = 0, complete = 0;
    while (start < text.size()) {
        const size_t end = text.find('\n', start);
        if (end == std::string::npos) break;
        if (end > start) lines.push_back(text.substr(start, end - start));
        start = complete = end + 1;
    }
    if (repair && complete < text.size()) std::filesystem::resize_file(path, complete);
    return lines;
}

}  // namespace

nlohmann::json PairRecord::to_json() const {
    nlohmann::json c = nlohmann::json::array();
    for (const auto& k : candidates) c.push_back(candidate_json(k));
    return {{"pair_id", pair_id},       {"clip_id", clip_id},       {"caption", caption},
            {"source", source},         {"complexity", complexity}, {"winner", candidate_json(winner)},
            {"loser", candidate_json(loser)}, {"candidates", c},    {"shard", shard},
            {"winner_key", winner_key}, {"loser_key", loser_key}};
}

PairRecord PairRecord::from_json(const nlohmann::json& j, const std::string& where) {
    try {
        PairRecord r;
        r.pair_id = j.at("pair_id").get<std::string>();
        r.clip_id = j.at("clip_id").get<std::string>();
        r.caption = j.value("caption", "");
        r.source = j.value("source", "auto");
        r.complexity = j.value("complexity", 0.0);
        r.winner = candidate_from(j.at("winner"));
        r.loser = candidate_from(j.at("loser"));
        if (j.contains("candidates")) {
            for (const auto& c : j.at("candidates")) r.candidates.push_back(candidate_from(c));
        }
        r.shard = j.at("shard").get<std::string>();
        r.winner_key = j.at("winner_key").get<std::string>();
        r.loser_key = j.at("loser_key").get<std::string>();
        V2A_CHECK(!r.pair_id.empty() && !r.clip_id.empty(), Data, "empty pair_id or clip_id");
        return r;
    } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::Data, where, ": bad pair record: ", e.what());
    } catch (const Error& e) {
        fail(ErrorKind::Data, where, ": bad pair record: ", e.what());
    }
}

std::pair<int, int> parse_shard(const std::string& text) {
    const auto slash = text.find('/');
    int i = -1, n = 0;
    try {
        V2A_CHECK(slash != std::string::npos, Usage, "");
        size_t used = 0;
        i = std::stoi(text.substr(0, slash), &used);
        V2A_CHECK(used == slash, Usage, "");
        const std::string rest = text.substr(slash + 1);
        n = std::stoi(rest, &used);
        V2A_CHECK(used == rest.size(), Usage, "");
    } catch (const std::exception&) {
        fail(ErrorKind::Usage, "--shard must be i/N (e.g. 0/4), got '", text, "'");
    }
    V2A_CHECK(n >= 1 && i >= 0 && i < n, Usage, "--shard i/N needs 0 <= i < N, got '", text, "'");
    return {i, n};
}

PairWriter::PairWriter(const std::filesystem::path& dir, int index, int count, const std::string& name)
    : dir_(dir), tag_(name + "-" + std::to_string(index) + "of" + std::to_string(count)) {
    V2A_CHECK(!name.empty() && name.find_first_of("/-.") == std::string::npos, Usage, "pair writer: bad set name '",
              name, "'");
    V2A_CHECK(count >= 1 && index >= 0 && index < count, Usage, "pair writer: bad shard ", index, "/", count);
    fs::ensure_dir(dir_ / "latents");
    for (const auto& d : {dir_, dir_ / "latents"}) fs::remove_stale_temp_files(d);  // a killed earlier run's
    jsonl_ = dir_ / (tag_ + ".jsonl");
    std::set<std::string> shards;
    for (const auto& line : read_lines(jsonl_, true)) {
        const auto r = PairRecord::from_json(nlohmann::json::parse(line), jsonl_.string());
        done_.insert(r.clip_id);
        shards.insert(r.shard);
    }
    chunks_ = int64_t(shards.size());
    rejected_ = dir_ / (name + "-rejected-" + std::to_string(index) + "of" + std::to_string(count) + ".jsonl");
    for (const auto& line : read_lines(rejected_, true)) done_.insert(nlohmann::json::parse(line).at("clip_id"));
}

namespace {

void append_lines(const std::filesystem::path& path, const std::string& text) {
    if (text.empty()) return;
    std::FILE* f = std::fopen(path.c_str(), "ab");
    V2A_CHECK(f != nullptr, IO, path.string(), ": cannot open for appending");
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
                    ::fsync(fileno(f)) == 0;
    std::fclose(f);
    V2A_CHECK(ok, IO, path.string(), ": write failed");
}

}  // namespace

void PairWriter::write_chunk(std::vector<PairRecord> records, const std::map<std::string, torch::Tensor>& latents,
                             const std::vector<nlohmann::json>& rejected) {
    char name[64];
    std::snprintf(name, sizeof(name), "%s-%06lld.safetensors", tag_.c_str(), (long long)chunks_);
    io::TensorMap tensors;
    for (auto& r : records) {
        r.shard = name;
        for (const auto* key : {&r.winner_key, &r.loser_key}) {
            auto it = latents.find(*key);
            V2A_CHECK(it != latents.end(), Usage, "pair writer: no latent for key '", *key, "' of pair ", r.pair_id);
            tensors[*key] = it->second.detach().to(torch::kFloat).contiguous();
        }
    }
    if (!records.empty()) {
        io::save_safetensors(dir_ / "latents" / name, tensors, {{"v2a_format", "pairs-latents-1"}});
        ++chunks_;
    }
    // Lines go out in one write + fsync after the latents exist.
    std::string text, rejected_text;
    for (const auto& r : records) text += r.to_json().dump() + "\n";
    for (const auto& r : rejected) {
        V2A_CHECK(r.contains("clip_id"), Usage, "pair writer: a rejected entry needs a clip_id");
        rejected_text += r.dump() + "\n";
    }
    append_lines(jsonl_, text);
    append_lines(rejected_, rejected_text);
    for (const auto& r : records) done_.insert(r.clip_id);
    for (const auto& r : rejected) done_.insert(r.at("clip_id").get<std::string>());
}

PairSet::PairSet(std::vector<PairRecord> records, torch::Tensor winners, torch::Tensor losers)
    : records_(std::move(records)), winners_(std::move(winners)), losers_(std::move(losers)) {
    V2A_CHECK(winners_.defined() && losers_.defined() && winners_.dim() == 3 && winners_.sizes() == losers_.sizes() &&
                  winners_.size(0) == int64_t(records_.size()),
              Usage, "pair set: need winners and losers [P, N, C] for ", records_.size(), " records");
}

PairSet PairSet::load(const std::filesystem::path& dir) {
    V2A_CHECK(std::filesystem::is_directory(dir), IO, dir.string(), ": not a pair directory");
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        if (e.path().extension() == ".jsonl" && name.find("-rejected-") == std::string::npos) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    V2A_CHECK(!files.empty(), Data, dir.string(), ": holds no pair files (run `v2a pairs` first)");
    std::vector<PairRecord> records;
    std::set<std::string> ids;
    for (const auto& f : files) {
        int64_t line_no = 0;
        for (const auto& line : read_lines(f, false)) {
            ++line_no;
            const std::string where = f.string() + ":" + std::to_string(line_no);
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(line);
            } catch (const nlohmann::json::exception& e) {
                fail(ErrorKind::Data, where, ": not JSON: ", e.what());
            }
            auto r = PairRecord::from_json(j, where);
            V2A_CHECK(ids.insert(r.pair_id).second, Data, where, ": duplicate pair_id '", r.pair_id, "'");
            records.push_back(std::move(r));
        }
    }
    V2A_CHECK(!records.empty(), Data, dir.string(), ": the pair files hold no pairs");
    // Load each shard once.
    std::map<std::string, io::TensorMap> shards;
    std::vector<torch::Tensor> w, l;
    for (const auto& r : records) {
        auto it = shards.find(r.shard);
        if (it == shards.end()) {
            const auto path = dir / "latents" / r.shard;
            V2A_CHECK(std::filesystem::exists(path), Data, path.string(), ": missing (named by pair ", r.pair_id, ")");
            it = shards.emplace(r.shard, io::load_safetensors(path).tensors).first;
        }
        for (const auto* key : {&r.winner_key, &r.loser_key}) {
            V2A_CHECK(it->second.count(*key), Data, (dir / "latents" / r.shard).string(), ": has no tensor '", *key,
                      "' (pair ", r.pair_id, ")");
        }
        w.push_back(it->second.at(r.winner_key));
        l.push_back(it->second.at(r.loser_key));
        V2A_CHECK(w.back().sizes() == w.front().sizes() && l.back().sizes() == w.front().sizes(), Data,
                  r.shard, ": latent shape of pair ", r.pair_id, " differs from the first pair's");
    }
    return PairSet(std::move(records), torch::stack(w), torch::stack(l));
}

torch::Tensor PairSet::winners(const std::vector<int64_t>& rows) const {
    return winners_.index_select(0, torch::tensor(rows, torch::kInt64));
}

torch::Tensor PairSet::losers(const std::vector<int64_t>& rows) const {
    return losers_.index_select(0, torch::tensor(rows, torch::kInt64));
}

std::vector<double> PairSet::complexities() const {
    std::vector<double> c;
    for (const auto& r : records_) c.push_back(r.complexity);
    return c;
}

PairSet PairSet::filter_sources(const std::set<std::string>& sources) const {
    std::vector<PairRecord> kept;
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < size(); ++i) {
        if (sources.count(records_[size_t(i)].source)) {
            kept.push_back(records_[size_t(i)]);
            rows.push_back(i);
        }
    }
    V2A_CHECK(!rows.empty(), Data, "pair set: no pairs from the requested sources");
    return PairSet(std::move(kept), winners(rows), losers(rows));
}

nlohmann::json PairSet::summary() const {
    std::map<std::string, int64_t> by_source;
    for (const auto& r : records_) ++by_source[r.source];
    auto c = complexities();
    std::sort(c.begin(), c.end());
    auto q = [&](double f) { return c.empty() ? 0.0 : c[size_t(f * double(c.size() - 1))]; };
    return {{"pairs", size()},
            {"by_source", by_source},
            {"complexity", {{"min", q(0)}, {"q25", q(0.25)}, {"median", q(0.5)}, {"q75", q(0.75)}, {"max", q(1)}}}};
}

}  // namespace v2a::pairs
