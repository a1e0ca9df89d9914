// Bit-exact re-implementation of the parts of NumPy's legacy `np.random.RandomState` the
// metrics need: seeding with an integer and `permutation(n)`. av-benchmark's Inception score
// shuffles its rows with RandomState(2020).permutation(N); reproducing it makes the 10 splits
// (and so IS mean/std) identical to the Python numbers. Checked against NumPy 1.24
// (tests/data/metrics/is_fixtures.json).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace v2a::metrics {

class NumpyRandomState {
public:
    /// RandomState(seed) for an integer seed in [0, 2^32): MT19937 init_genrand(seed).
    explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}

    /// Next raw 32-bit MT19937 output.
    uint32_t next_uint32() { return static_cast<uint32_t>(mt_()); }

    /// Uniform integer in [0, max] by masked rejection (numpy `random_interval`).
    uint64_t interval(uint64_t max);

    /// np.random.RandomState(seed).permutation(n): Fisher–Yates from the back.
    std::vector<int64_t> permutation(int64_t n);

private:
    std::mt19937 mt_;  // std::mt19937's seeding and output equal MT19937 init_genrand / genrand_int32
};

}  // namespace v2a::metrics
