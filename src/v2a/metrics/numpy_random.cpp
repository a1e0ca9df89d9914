#include "v2a/metrics/numpy_random.h"

#include <numeric>
#include <utility>

#include "v2a/core/error.h"

namespace v2a::metrics {

uint64_t NumpyRandomState::interval(uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t value;
    if (max <= 0xffffffffULL) {
        while ((value = (next_uint32() & mask)) > max) {
        }
    } else {
        // numpy's next_uint64 for MT19937: two 32-bit outputs, high word first.
        do {
            const uint64_t hi = next_uint32();
            value = ((hi << 32) | next_uint32()) & mask;
        } while (value > max);
    }
    return value;
}

std::vector<int64_t> NumpyRandomState::permutation(int64_t n) {
    V2A_CHECK(n >= 0, Usage, "permutation: negative length ", n);
    std::vector<int64_t> out(static_cast<size_t>(n));
    std::iota(out.begin(), out.end(), int64_t{0});
    for (int64_t i = n - 1; i >= 1; --i) {
        const auto j = static_cast<int64_t>(interval(static_cast<uint64_t>(i)));
        std::swap(out[static_cast<size_t>(i)], out[static_cast<size_t>(j)]);
    }
    return out;
}

}  // namespace v2a::metrics
