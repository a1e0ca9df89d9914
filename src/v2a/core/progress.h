// A progress bar with rate and ETA for long jobs. On a terminal it redraws one line; otherwise
// (CI, logs) it prints a line at every 10% so the log stays readable. Thread-safe.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace v2a {

class Progress {
public:
    Progress(std::string label, int64_t total, std::string unit = "it");
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void advance(int64_t n = 1);
    /// Starts the bar at `done` (a resumed job): the rate and ETA count only the work done from here.
    void resume_from(int64_t done);
    /// Short status shown after the bar (e.g. "loss 0.123").
    void set_status(const std::string& status);
    void finish();
    int64_t done() const { return done_; }
    double elapsed_seconds() const;

private:
    void render(bool force);

    std::string label_, unit_, status_;
    int64_t total_, done_ = 0, start_done_ = 0, last_printed_ = -1;
    int last_decile_ = -1;
    bool tty_, finished_ = false, enabled_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    std::mutex mutex_;
};

/// "1h02m", "3m07s", "12.3s".
std::string format_duration(double seconds);

}  // namespace v2a
