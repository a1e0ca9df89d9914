// Counter-based randomness for the benchmark: every clip's stream is derived from (seed, split,
// index) only, so the output never depends on which worker renders which clip, and the generator
// is spelled out here (not std:: distributions, whose algorithms differ between standard libraries).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "v2a/core/mix64.h"

namespace v2a::synth {

using ::v2a::mix64;  // core/mix64.h

/// FNV-1a of a string (split names, sub-stream labels).
inline uint64_t hash_str(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

/// The seed of one clip: a function of (dataset seed, split, index) only.
inline uint64_t clip_seed(uint64_t seed, const std::string& split, int64_t index) {
    return mix64(mix64(seed ^ 0xA5A5A5A5ull) ^ hash_str(split) ^ mix64(uint64_t(index) + 0x1234567ull));
}

/// xoshiro256** seeded through SplitMix64.
class Rng {
public:
    explicit Rng(uint64_t seed) {
        uint64_t x = seed;
        for (auto& s : s_) {
            x += 0x9E3779B97F4A7C15ull;
            s = mix64(x);
        }
    }
    /// An independent stream for a named sub-task (e.g. "background"), so adding draws to one
    /// part of a clip does not shift the draws of another.
    Rng fork(const std::string& label) const { return Rng(s_[0] ^ mix64(hash_str(label) ^ s_[3])); }

    uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    /// Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// Uniform integer in [lo, hi] (inclusive).
    int randint(int lo, int hi) { return lo + int(next() % uint64_t(hi - lo + 1)); }
    bool bernoulli(double p) { return uniform() < p; }
    /// Standard normal (Box-Muller; one value per call for simplicity).
    double normal() {
        const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    template <typename T>
    const T& pick(const std::vector<T>& v) { return v[size_t(next() % v.size())]; }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

}  // namespace v2a::synth
