// The Demo tab: an uploaded video (checked by decoding) + optional prompt, negative prompt, seed,
// steps and CFG -> audio from the loaded generator, muxed back into the video. Jobs run one at a time
// on a worker thread (generation uses every intra-op thread anyway); the queue is bounded so uploads
// cannot pile up, and results are served only by job id.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "v2a/serve/upload_check.h"

namespace v2a::flow {
class Pipeline;
}

namespace v2a::serve {

struct DemoOptions {
    std::filesystem::path generator, vae;   // checkpoints (flow::Pipeline::load)
    std::filesystem::path work_dir;         // uploads and results (created)
    UploadLimits limits;
    int max_pending = 4;                    // queued + running jobs; more is 503
    int max_steps = 200;
    int vocoder_iterations = 32;
    /// A finished job (its result file and its status) is deleted this long after it ended; its upload as
    /// soon as it ended. Files of earlier runs in work_dir are deleted at start.
    double keep_seconds = 3600.0;
};

struct DemoRequest {
    std::string prompt, negative;
    uint64_t seed = 42;
    int steps = 25;
    double cfg = 4.5;
};

enum class JobState { Queued, Running, Done, Failed };
const char* job_state_name(JobState state);

struct DemoJob {
    std::string id;   // 16 hex digits
    JobState state = JobState::Queued;
    DemoRequest request;
    int step = 0, steps = 0;
    std::string error;
    double seconds = 0.0;                 // generation time
    std::filesystem::path upload, result;
    std::chrono::steady_clock::time_point finished;  // when it became Done or Failed
};

class DemoRunner {
public:
    explicit DemoRunner(const DemoOptions& options);   // loads the model (v2a::Error when it cannot)
    ~DemoRunner();
    DemoRunner(const DemoRunner&) = delete;
    DemoRunner& operator=(const DemoRunner&) = delete;

    /// Stores and checks the upload, validates the request and queues a job; returns its id.
    /// RequestError: 400 bad video or parameters, 413 over a limit, 503 queue full.
    std::string submit(const std::string& video_bytes, const DemoRequest& request);
    std::optional<DemoJob> job(const std::string& id) const;
    /// Seconds of audio the model generates per clip.
    double duration() const { return duration_; }
    const DemoOptions& options() const { return options_; }

private:
    void work();
    void run_job(const std::string& id);
    /// Deletes finished jobs older than keep_seconds and their files; mutex_ held.
    void expire_jobs(std::chrono::steady_clock::time_point now);

    DemoOptions options_;
    std::unique_ptr<flow::Pipeline> pipeline_;
    double duration_ = 0.0;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::string, DemoJob> jobs_;
    std::deque<std::string> queue_;
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace v2a::serve
