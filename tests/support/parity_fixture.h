// Fixtures made by MMAudio's own Python code (tests/data/mmaudio_parity/README.md): the folder is
// $V2A_MMAUDIO_PARITY_DIR when set (any folder made the same way, e.g. ../shared/testdata/mmaudio_parity
// or one made from other random weights), else the copy in tests/data.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "v2a/io/safetensors.h"

namespace v2a::test {

inline std::filesystem::path parity_dir() {
    if (const char* env = std::getenv("V2A_MMAUDIO_PARITY_DIR"); env != nullptr && *env != '\0') return env;
    return std::filesystem::path(V2A_TESTDATA) / "mmaudio_parity";
}

inline io::SafetensorsFile parity_file(const std::string& name) { return io::load_safetensors(parity_dir() / name); }

/// The constructor arguments stored in a fixture's metadata ("config").
inline nlohmann::json parity_config(const io::SafetensorsFile& file) {
    return nlohmann::json::parse(file.metadata.at("config"));
}

/// max |a - b| / max |b|: the README's agreement measure (1e-6 expected in fp32, 1e-4 allowed).
inline double relative_max_error(const torch::Tensor& a, const torch::Tensor& b) {
    const auto bd = b.to(torch::kDouble);
    const double scale = bd.abs().max().item<double>();
    return (a.to(torch::kDouble) - bd).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

constexpr double kParityTolerance = 1e-4;

}  // namespace v2a::test
