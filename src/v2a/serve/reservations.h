// Clips handed out but not yet labelled. Without them, annotators working at the same time all see
// the last clip that needs one more rating and it ends up over-rated; with them, a clip an annotator
// is looking at counts as rated for everyone else until they label it, skip it, ask for another, or
// the reservation expires (an annotator who walked away does not hold a clip for ever).
#pragma once
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace v2a::serve {

class Reservations {
public:
    explicit Reservations(std::chrono::steady_clock::duration ttl = std::chrono::minutes(10)) : ttl_(ttl) {}

    /// Adds the live reservations of everyone but `annotator` to `counts` (item -> labels).
    void add_to(std::map<std::string, int64_t>& counts, const std::string& annotator, const std::string& kind);
    /// The annotator now holds `item` (replacing what they held for `kind`).
    void reserve(const std::string& annotator, const std::string& kind, const std::string& item);
    void release(const std::string& annotator, const std::string& kind);

    /// Serialises choose-then-reserve, so two annotators asking at once cannot take the same last slot.
    std::mutex& choosing() { return choosing_; }

private:
    std::chrono::steady_clock::duration ttl_;
    std::mutex mutex_, choosing_;
    std::map<std::pair<std::string, std::string>, std::pair<std::string, std::chrono::steady_clock::time_point>> held_;
};

}  // namespace v2a::serve
