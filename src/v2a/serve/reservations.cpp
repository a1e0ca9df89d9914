#include "v2a/serve/reservations.h"

namespace v2a::serve {

void Reservations::add_to(std::map<std::string, int64_t>& counts, const std::string& annotator, const std::string& kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = held_.begin(); it != held_.end();) {
        if (now - it->second.second > ttl_) {
            it = held_.erase(it);
            continue;
        }
        if (it->first.second == kind && it->first.first != annotator) ++counts[it->second.first];
        ++it;
    }
}

void Reservations::reserve(const std::string& annotator, const std::string& kind, const std::string& item) {
    std::lock_guard<std::mutex> lock(mutex_);
    held_[{annotator, kind}] = {item, std::chrono::steady_clock::now()};
}

void Reservations::release(const std::string& annotator, const std::string& kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    held_.erase({annotator, kind});
}

}  // namespace v2a::serve
