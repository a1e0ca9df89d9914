// Deterministic, resumable mini-batch order: epoch e visits a permutation drawn from (seed, e);
// the state (epoch, position) is two integers, saved in every training checkpoint, so a resumed
// run sees exactly the batches an uninterrupted one would.
#pragma once
#include <cstdint>
#include <vector>

namespace v2a::train {

class BatchSampler {
public:
    BatchSampler(int64_t n_items, int64_t batch_size, uint64_t seed, bool shuffle = true);
    /// The next batch of item indices (always `batch_size` items; wraps into the next epoch).
    std::vector<int64_t> next();
    int64_t epoch() const { return epoch_; }
    int64_t position() const { return position_; }
    void restore(int64_t epoch, int64_t position);
    int64_t size() const { return n_items_; }

private:
    void reshuffle();
    int64_t n_items_, batch_size_;
    uint64_t seed_;
    bool shuffle_;
    int64_t epoch_ = 0, position_ = 0;
    std::vector<int64_t> order_;
};

}  // namespace v2a::train
