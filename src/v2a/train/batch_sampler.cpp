#include "v2a/train/batch_sampler.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "v2a/core/error.h"

namespace v2a::train {

BatchSampler::BatchSampler(int64_t n_items, int64_t batch_size, uint64_t seed, bool shuffle)
    : n_items_(n_items), batch_size_(batch_size), seed_(seed), shuffle_(shuffle) {
    V2A_CHECK(n_items > 0, Data, "batch sampler: the dataset is empty");
    V2A_CHECK(batch_size > 0, Usage, "batch sampler: batch size must be > 0 (got ", batch_size, ")");
    reshuffle();
}

void BatchSampler::reshuffle() {
    order_.resize(size_t(n_items_));
    std::iota(order_.begin(), order_.end(), 0);
    if (shuffle_) {
        std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ULL + uint64_t(epoch_) + 1);
        // Fisher-Yates with our own index draw: std::shuffle's algorithm is implementation-defined.
        for (int64_t i = n_items_ - 1; i > 0; --i) {
            const int64_t j = int64_t(rng() % uint64_t(i + 1));
            std::swap(order_[size_t(i)], order_[size_t(j)]);
        }
    }
}

std::vector<int64_t> BatchSampler::next() {
    std::vector<int64_t> batch;
    batch.reserve(size_t(batch_size_));
    while (int64_t(batch.size()) < batch_size_) {
        if (position_ >= n_items_) {
            ++epoch_;
            position_ = 0;
            reshuffle();
        }
        batch.push_back(order_[size_t(position_++)]);
    }
    return batch;
}

void BatchSampler::restore(int64_t epoch, int64_t position) {
    V2A_CHECK(epoch >= 0 && position >= 0 && position <= n_items_, Data, "batch sampler: bad saved state (epoch ",
              epoch, ", position ", position, ") for ", n_items_, " items");
    epoch_ = epoch;
    position_ = position;
    reshuffle();
}

}  // namespace v2a::train
