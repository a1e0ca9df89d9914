#include "v2a/serve/demo_runner.h"

#include <algorithm>
#include <cctype>

#include <chrono>
#include <cstdio>
#include <random>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/core/text.h"
#include "v2a/flow/pipeline.h"
#include "v2a/io/media.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

namespace {

std::string random_id() {
    static std::mutex m;
    static std::mt19937_64 rng{std::random_device{}()};
    std::lock_guard<std::mutex> lock(m);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    return buf;
}

void check_text(const std::string& text, const char* what) {
    V2A_REQUIRE(text.size() <= 1000, 400, what, ": longer than 1000 bytes");
    V2A_REQUIRE(utf8_invalid_at(text) == std::string::npos, 400, what, ": not valid UTF-8");
}

}  // namespace

const char* job_state_name(JobState state) {
    switch (state) {
        case JobState::Queued: return "queued";
        case JobState::Running: return "running";
        case JobState::Done: return "done";
        case JobState::Failed: return "failed";
    }
    return "unknown";
}

DemoRunner::DemoRunner(const DemoOptions& options) : options_(options) {
    audio::GriffinLimOptions gl;
    gl.iterations = options.vocoder_iterations;
    pipeline_ = std::make_unique<flow::Pipeline>(flow::Pipeline::load(options.generator, options.vae, gl));
    duration_ = pipeline_->generator()->duration();
    V2A_CHECK(options_.keep_seconds > 0, Usage, "serve: the demo's keep time must be positive, got ",
              options_.keep_seconds);
    fs::ensure_dir(options_.work_dir);
    // Job files of an earlier run (16 hex digits, then '.': uploads, results, their temp files) are
    // never served again: delete them. Anything else in the folder is left alone.
    for (const auto& entry : std::filesystem::directory_iterator(options_.work_dir)) {
        const auto name = entry.path().filename().string();
        const bool job_file = name.size() > 17 && name[16] == '.' &&
                              std::all_of(name.begin(), name.begin() + 16, [](unsigned char c) { return std::isxdigit(c); });
        std::error_code ec;
        if (job_file && entry.is_regular_file(ec)) std::filesystem::remove(entry.path(), ec);
    }
    worker_ = std::thread([this] { work(); });
}

DemoRunner::~DemoRunner() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
}

std::string DemoRunner::submit(const std::string& video_bytes, const DemoRequest& request) {
    V2A_REQUIRE(request.steps >= 1 && request.steps <= options_.max_steps, 400, "demo: steps must be in 1..",
                options_.max_steps);
    V2A_REQUIRE(request.cfg >= 0.0 && request.cfg <= 20.0, 400, "demo: cfg must be in 0..20");
    check_text(request.prompt, "demo: prompt");
    check_text(request.negative, "demo: negative prompt");
    V2A_REQUIRE(int64_t(video_bytes.size()) <= options_.limits.max_bytes, 413, "upload: ", video_bytes.size(),
                " bytes is over the limit of ", options_.limits.max_bytes);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        V2A_REQUIRE(int(queue_.size()) < options_.max_pending, 503, "demo: ", queue_.size(),
                    " jobs are waiting; try again shortly");
    }
    DemoJob job;
    job.id = random_id();
    job.request = request;
    job.steps = request.steps;
    // No extension: FFmpeg identifies the container by its content, not by a name the client chose.
    job.upload = options_.work_dir / (job.id + ".upload");
    job.result = options_.work_dir / (job.id + ".mp4");
    fs::write_atomic(job.upload, video_bytes);
    try {
        check_upload(job.upload, options_.limits);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(job.upload, ec);
        throw;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    V2A_REQUIRE(int(queue_.size()) < options_.max_pending, 503, "demo: the queue is full; try again shortly");
    const auto id = job.id;
    jobs_.emplace(id, std::move(job));
    queue_.push_back(id);
    wake_.notify_one();
    return id;
}

void DemoRunner::expire_jobs(std::chrono::steady_clock::time_point now) {
    const auto keep = std::chrono::duration<double>(options_.keep_seconds);
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        const bool finished = it->second.state == JobState::Done || it->second.state == JobState::Failed;
        if (finished && now - it->second.finished >= keep) {
            std::error_code ec;
            std::filesystem::remove(it->second.result, ec);
            std::filesystem::remove(it->second.upload, ec);
            it = jobs_.erase(it);
        } else {
            ++it;
        }
    }
}

std::optional<DemoJob> DemoRunner::job(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::nullopt;
    return it->second;
}

void DemoRunner::work() {
    for (;;) {
        std::string id;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            // Wakes for a job, for the end, and at least every min(keep, 60 s) to expire old jobs.
            const auto period = std::chrono::duration<double>(std::min(options_.keep_seconds, 60.0));
            while (!stopping_ && queue_.empty()) {
                wake_.wait_for(lock, period);
                expire_jobs(std::chrono::steady_clock::now());
            }
            if (stopping_) return;
            id = queue_.front();
            jobs_[id].state = JobState::Running;
        }
        try {
            run_job(id);
        } catch (const std::exception& e) {
            V2A_LOG_WARN("serve: demo job %s failed: %s", id.c_str(), e.what());
            std::lock_guard<std::mutex> lock(mutex_);
            jobs_[id].state = JobState::Failed;
            jobs_[id].error = e.what();
        }
        std::filesystem::path upload;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            jobs_[id].finished = std::chrono::steady_clock::now();
            upload = jobs_[id].upload;
            queue_.pop_front();   // counted as pending until here
        }
        std::error_code ec;
        std::filesystem::remove(upload, ec);  // the result holds what is needed from it
    }
}

void DemoRunner::run_job(const std::string& id) {
    DemoJob job;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job = jobs_.at(id);
    }
    const auto start = std::chrono::steady_clock::now();
    io::VideoDecodeOptions vo;
    vo.fps = 25.0;
    vo.width = vo.height = pipeline_->generator()->config().frame_size;
    vo.duration = duration_;
    vo.pad = io::PadPolicy::RepeatLast;   // a short upload is padded to the model's length
    auto frames = io::decode_video(job.upload, vo).frames.unsqueeze(0);
    flow::GenerateOptions go;
    go.sampler.steps = job.request.steps;
    go.sampler.cfg_strength = job.request.cfg;
    go.seed = job.request.seed;
    if (!job.request.negative.empty()) go.negative = {job.request.negative};
    torch::Tensor wav;
    {
        torch::NoGradGuard no_grad;
        wav = pipeline_->generate(frames, {job.request.prompt}, go, [&](const flow::StepInfo& s) {
            std::lock_guard<std::mutex> lock(mutex_);
            jobs_[id].step = s.step + 1;
        });
    }
    const auto audio = flow::to_audio(wav[0], pipeline_->sample_rate());
    try {
        io::mux_audio_into_video(job.upload, audio, job.result);
    } catch (const Error& e) {
        // The upload's video codec may not fit in mp4: re-encode the frames instead.
        V2A_LOG_INFO("serve: demo job %s: stream copy failed (%s), re-encoding", id.c_str(), e.what());
        const auto info = io::probe(job.upload);
        const double scale = std::min(1.0, 640.0 / std::max(info.width, info.height));
        io::VideoDecodeOptions full;
        full.fps = 25.0;
        full.width = std::max(2, int(info.width * scale) / 2 * 2);
        full.height = std::max(2, int(info.height * scale) / 2 * 2);
        full.duration = duration_;
        io::write_mp4(job.result, io::decode_video(job.upload, full).frames, 25.0, audio);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto& j = jobs_[id];
    j.state = JobState::Done;
    j.step = j.steps;
    j.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace v2a::serve
