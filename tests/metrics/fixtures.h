// Helpers shared by the metrics tests: fixture loading and JSON -> tensor conversion.
#pragma once
#include <torch/types.h>

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "v2a/core/error.h"

namespace v2a::metrics::test {

inline nlohmann::json load_fixture(const std::string& name) {
    const std::string path = std::string(V2A_TESTDATA) + "/metrics/" + name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("missing fixture " + path);
    return nlohmann::json::parse(in);
}

/// [[...], ...] -> [N, D] float64.
inline torch::Tensor matrix(const nlohmann::json& rows) {
    const auto n = static_cast<int64_t>(rows.size());
    const auto d = static_cast<int64_t>(rows.at(0).size());
    auto out = torch::empty({n, d}, torch::kFloat64);
    auto acc = out.accessor<double, 2>();
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < d; ++j) acc[i][j] = rows.at(i).at(j).get<double>();
    return out;
}

/// Asserts that `fn` throws v2a::Error of `kind` whose message contains `needle`.
template <typename Fn>
void expect_error(Fn&& fn, v2a::ErrorKind kind, const std::string& needle) {
    try {
        fn();
        ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
    } catch (const v2a::Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

}  // namespace v2a::metrics::test
