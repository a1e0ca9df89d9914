// Reading a trainer's run folder in tests: its per-update records and how far its weights moved.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "v2a/core/jsonl.h"
#include "v2a/io/safetensors.h"

namespace v2a::test {

/// The "kind": "train" records of <run>/metrics.jsonl, in order.
inline std::vector<nlohmann::json> train_records(const std::filesystem::path& run) {
    std::vector<nlohmann::json> out;
    for (auto& r : read_jsonl(run / "metrics.jsonl"))
        if (r.value("kind", "") == "train") out.push_back(r);
    return out;
}

/// Sum of |after - before| over the tensors of `after` whose name starts with `prefix` and that `before` has.
inline double weights_moved(const std::filesystem::path& before, const std::filesystem::path& after,
                            const std::string& prefix = "") {
    const auto b = io::load_safetensors(before).tensors;
    double moved = 0;
    for (const auto& [k, t] : io::load_safetensors(after).tensors)
        if (k.rfind(prefix, 0) == 0 && b.count(k)) moved += (t - b.at(k)).abs().sum().item<double>();
    return moved;
}

}  // namespace v2a::test
