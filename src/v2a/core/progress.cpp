#include "v2a/core/progress.h"

#include <unistd.h>

#include <cstdio>

#include "v2a/core/distributed.h"
#include "v2a/core/log.h"

namespace v2a {

std::string format_duration(double seconds) {
    char buf[32];
    if (!(seconds >= 0) || seconds > 1e7) return "?";
    if (seconds < 60) {
        std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    } else if (seconds < 3600) {
        std::snprintf(buf, sizeof buf, "%dm%02ds", int(seconds) / 60, int(seconds) % 60);
    } else {
        std::snprintf(buf, sizeof buf, "%dh%02dm", int(seconds) / 3600, (int(seconds) % 3600) / 60);
    }
    return buf;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
    tty_ = ::isatty(STDERR_FILENO) != 0;
    enabled_ = log::level() <= log::Level::Info && dist::is_writer();  // one bar per job
    start_ = last_draw_ = std::chrono::steady_clock::now();
    render(true);
}

Progress::~Progress() { finish(); }

double Progress::elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(int64_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ += n;
    render(false);
}

void Progress::resume_from(int64_t done) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = start_done_ = done;
    start_ = std::chrono::steady_clock::now();
    render(true);
}

void Progress::set_status(const std::string& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
}

void Progress::finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    render(true);
    finished_ = true;
    if (enabled_ && tty_) std::fputc('\n', stderr);
}

void Progress::render(bool force) {
    if (!enabled_ || finished_) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? double(done_ - start_done_) / elapsed : 0.0;
    const double eta = rate > 0 && total_ > 0 ? double(total_ - done_) / rate : -1.0;
    const double frac = total_ > 0 ? std::min(1.0, double(done_) / double(total_)) : 0.0;
    char line[512];
    if (tty_) {
        if (!force && std::chrono::duration<double>(now - last_draw_).count() < 0.1 && done_ < total_) return;
        last_draw_ = now;
        const int width = 28, filled = int(frac * width);
        std::string bar(size_t(filled), '#');
        bar.append(size_t(width - filled), '.');
        std::snprintf(line, sizeof line, "\r%s [%s] %lld/%lld %s %.2f %s/s ETA %s %s\x1b[K", label_.c_str(),
                      bar.c_str(), (long long)done_, (long long)total_, unit_.c_str(), rate, unit_.c_str(),
                      format_duration(eta).c_str(), status_.c_str());
        std::fputs(line, stderr);
        std::fflush(stderr);
        return;
    }
    const int decile = int(frac * 10);
    if (decile == last_decile_ && !(force && done_ != last_printed_)) return;
    last_decile_ = decile;
    last_printed_ = done_;
    std::snprintf(line, sizeof line, "%s: %lld/%lld %s (%3.0f%%) %.2f %s/s elapsed %s ETA %s %s\n", label_.c_str(),
                  (long long)done_, (long long)total_, unit_.c_str(), frac * 100, rate, unit_.c_str(),
                  format_duration(elapsed).c_str(), format_duration(eta).c_str(), status_.c_str());
    std::fputs(line, stderr);
}

}  // namespace v2a
