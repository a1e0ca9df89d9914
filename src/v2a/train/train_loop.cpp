#include "v2a/train/train_loop.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/jsonl.h"
#include "v2a/core/log.h"
#include "v2a/core/progress.h"
#include "v2a/io/checkpoint.h"
#include "v2a/report/plot.h"

namespace v2a::train {
namespace stdfs = std::filesystem;

TrainLoop::TrainLoop(TrainLoopOptions options, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                     BatchSampler* sampler)
    : options_(std::move(options)), model_(model), optimizer_(optimizer), sampler_(sampler) {
    V2A_CHECK(!options_.run_dir.empty(), Usage, options_.name, ": a run directory is required");
    V2A_CHECK(options_.steps >= 0, Usage, options_.name, ": steps must be >= 0");
    fs::ensure_dir(options_.run_dir);
    if (dist::is_writer()) fs::remove_stale_temp_files(options_.run_dir);  // left by a killed earlier run
    generator_ = at::detail::createCPUGenerator(options_.seed);
    if (dist::active()) {
        // Every rank starts from the writer's weights (they already agree when built from one seed).
        std::vector<torch::Tensor> state;
        for (auto& p : model_.parameters()) state.push_back(p);
        for (auto& b : model_.buffers()) state.push_back(b);
        dist::broadcast_from_writer(state);
    }
    if (options_.ema_decay > 0) ema_ = std::make_unique<Ema>(model_, options_.ema_decay);
}

void TrainLoop::save_checkpoint() {
    if (!dist::is_writer()) return;  // one copy of the weights: every rank holds the same
    const stdfs::path final_dir = options_.run_dir / "checkpoint";
    const stdfs::path tmp_dir = options_.run_dir / "checkpoint.tmp";
    const stdfs::path old_dir = options_.run_dir / "checkpoint.old";
    std::error_code ec;
    stdfs::remove_all(tmp_dir, ec);
    fs::ensure_dir(tmp_dir);
    io::save_checkpoint(tmp_dir / "model.safetensors", model_, options_.config_json);
    if (ema_) io::save_safetensors(tmp_dir / "ema.safetensors", ema_->state());
    {
        torch::serialize::OutputArchive archive;
        optimizer_.save(archive);
        std::ostringstream bytes;
        archive.save_to(bytes);
        fs::write_atomic(tmp_dir / "optimizer.pt", bytes.str());
    }
    io::save_safetensors(tmp_dir / "rng.safetensors", {{"generator", generator_.get_state()}});
    // world_size is a record, not a constraint: ranks draw the global batch's randomness and train
    // slices of it, so a resume on another number of processes continues the same run.
    nlohmann::json state = {{"format", 1}, {"step", step_}, {"seed", options_.seed},
                            {"ema_updates", ema_ ? ema_->updates() : 0}, {"world_size", dist::world_size()}};
    if (sampler_ != nullptr) state["sampler"] = {{"epoch", sampler_->epoch()}, {"position", sampler_->position()}};
    if (save_extra_) state["extra"] = save_extra_();
    if (stopped_) state["stopped_early"] = true;
    fs::write_atomic(tmp_dir / "state.json", state.dump(2));
    // Swap directories so that at every instant one complete checkpoint exists on disk.
    stdfs::remove_all(old_dir, ec);
    if (stdfs::exists(final_dir)) stdfs::rename(final_dir, old_dir);
    stdfs::rename(tmp_dir, final_dir);
    stdfs::remove_all(old_dir, ec);
}

bool TrainLoop::load_checkpoint() {
    stdfs::path dir = options_.run_dir / "checkpoint";
    if (!stdfs::exists(dir / "state.json") && stdfs::exists(options_.run_dir / "checkpoint.old" / "state.json")) {
        dir = options_.run_dir / "checkpoint.old";  // killed between the two renames
    }
    if (!stdfs::exists(dir / "state.json")) return false;
    nlohmann::json state;
    try {
        state = nlohmann::json::parse(fs::read_text(dir / "state.json"));
    } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::Data, (dir / "state.json").string(), ": not valid JSON (", e.what(), ")");
    }
    io::load_checkpoint(dir / "model.safetensors", model_, true);
    if (ema_) {
        V2A_CHECK(stdfs::exists(dir / "ema.safetensors"), Data, dir.string(), ": has no ema.safetensors");
        ema_->load(io::load_safetensors(dir / "ema.safetensors").tensors);
        ema_->set_updates(state.value("ema_updates", int64_t(0)));
    }
    {
        torch::serialize::InputArchive archive;
        const std::string bytes = fs::read_text(dir / "optimizer.pt");
        std::istringstream in(bytes);
        try {
            archive.load_from(in);
            optimizer_.load(archive);
        } catch (const c10::Error& e) {
            fail(ErrorKind::Data, (dir / "optimizer.pt").string(), ": cannot load optimizer state (",
                 e.what_without_backtrace(), ")");
        }
    }
    generator_.set_state(io::load_safetensors(dir / "rng.safetensors").tensors.at("generator"));
    step_ = state.at("step").get<int64_t>();
    stopped_ = state.value("stopped_early", false);
    if (load_extra_ && state.contains("extra")) load_extra_(state["extra"].get<ExtraState>());
    if (sampler_ != nullptr && state.contains("sampler")) {
        sampler_->restore(state["sampler"]["epoch"].get<int64_t>(), state["sampler"]["position"].get<int64_t>());
    }
    return true;
}

void TrainLoop::export_model() {
    if (!dist::is_writer()) return;
    const stdfs::path path = options_.run_dir / "model.safetensors";
    if (!ema_) {
        io::save_checkpoint(path, model_, options_.config_json);
        return;
    }
    io::TensorMap tensors = ema_->state();
    io::save_safetensors(path, tensors,
                         {{io::kCheckpointConfigKey, options_.config_json},
                          {io::kCheckpointFormatKey, std::to_string(io::kCheckpointFormatVersion)},
                          {"format", "pt"},
                          {"weights", "ema"},
                          {"step", std::to_string(step_)}});
}

void TrainLoop::log_record(const std::map<std::string, double>& values, const std::string& kind) {
    if (!dist::is_writer()) return;
    nlohmann::json record = {{"kind", kind}, {"step", step_}};
    for (const auto& [k, v] : values) record[k] = v;
    JsonlWriter(options_.run_dir / "metrics.jsonl", true).write(record);
}

void TrainLoop::draw_curve() {
    if (!dist::is_writer()) return;
    const auto path = options_.run_dir / "metrics.jsonl";
    if (!stdfs::exists(path) || !report::gnuplot_available()) return;
    // Train records carrying an auxiliary loss log the flow loss apart ("flow_loss"): that one is
    // plotted, so train and validation curves measure the same thing. Validation with swapped videos
    // (the SFT trainer's check that the model reads its video) gets its own curve.
    report::Series train{"train loss", {}, {}}, val{"validation loss", {}, {}, "linespoints"},
        swapped{"validation loss, swapped videos", {}, {}, "linespoints"};
    for (const auto& r : read_jsonl(path)) {
        if (!r.contains("loss")) continue;
        const bool is_val = r.value("kind", "") == "val";
        auto& s = is_val ? val : train;
        s.x.push_back(r["step"].get<double>());
        s.y.push_back(r[!is_val && r.contains("flow_loss") ? "flow_loss" : "loss"].get<double>());
        if (is_val && r.contains("loss_swapped_video")) {
            swapped.x.push_back(r["step"].get<double>());
            swapped.y.push_back(r["loss_swapped_video"].get<double>());
        }
    }
    if (train.x.empty()) return;
    train.y = report::smooth(train.y, 5);
    std::vector<report::Series> series{train};
    if (!val.x.empty()) series.push_back(val);
    if (!swapped.x.empty()) series.push_back(swapped);
    try {
        report::plot_series(options_.run_dir / "loss.png", series,
                            {options_.name + " loss", "step", "loss (train: moving average of 5 logs)"});
    } catch (const Error& e) {
        V2A_LOG_WARN("%s: could not draw the loss curve: %s", options_.name.c_str(), e.what());
    }
}

int64_t TrainLoop::run(const StepFn& step_fn, const ValFn& val_fn) {
    const auto log_path = options_.run_dir / "metrics.jsonl";
    if (options_.resume && load_checkpoint()) {
        V2A_LOG_INFO("%s: resumed from step %lld", options_.name.c_str(), (long long)step_);
        // Drop log lines written after the checkpoint: the resumed run writes them again.
        if (stdfs::exists(log_path)) {
            std::string kept;
            for (const auto& r : read_jsonl(log_path)) {
                if (r.value("step", int64_t(0)) <= step_) kept += r.dump() + "\n";
            }
            if (dist::is_writer()) fs::write_atomic(log_path, kept);
        }
    } else if (dist::is_writer()) {
        std::error_code ec;
        stdfs::remove(log_path, ec);
    }
    Progress progress(options_.name, options_.steps, "step");
    if (step_ > 0) progress.resume_from(step_);  // rate and ETA of this call's updates only
    int64_t made = 0, samples = 0;
    double side_seconds = 0;
    const auto start = std::chrono::steady_clock::now();
    std::vector<torch::Tensor> params;
    for (auto& p : model_.parameters()) {
        if (p.requires_grad()) params.push_back(p);
    }
    if (stopped_) V2A_LOG_INFO("%s: the run stopped early at step %lld; not training on", options_.name.c_str(),
                               (long long)step_);
    while (step_ < options_.steps && !stopped_) {
        if (options_.stop_after >= 0 && made >= options_.stop_after) return made;
        const double lr = options_.schedule.at(step_);
        for (auto& group : optimizer_.param_groups()) group.options().set_lr(lr);
        optimizer_.zero_grad();
        StepResult result = step_fn(step_, generator_);
        V2A_CHECK(result.loss.defined() && result.loss.numel() == 1, Internal, options_.name,
                  ": the step function must return a scalar loss");
        // The global batch's loss (every rank checks the same number, so all stop together).
        const double loss = dist::active() ? dist::all_reduce_sum(result.loss.item<double>()) / dist::world_size()
                                           : result.loss.item<double>();
        V2A_CHECK(std::isfinite(loss), Model, options_.name, ": loss is ", loss, " at step ", step_,
                  " (diverged; lower the learning rate or check the data)");
        result.loss.backward();
        if (dist::active()) {
            // Data parallel: each rank's loss is the mean over its equal slice of the global batch, so
            // the mean of the ranks' gradients is the gradient of the global batch's mean.
            // A parameter no row of this rank's slice reached has no gradient here; when another rank's
            // slice reached it, it joins with zeros (one process would have had a gradient for it).
            std::vector<double> reached;
            for (auto& p : params) reached.push_back(p.grad().defined() ? 1.0 : 0.0);
            reached = dist::all_reduce_sum(reached);
            std::vector<torch::Tensor> grads;
            for (size_t i = 0; i < params.size(); ++i) {
                if (reached[i] == 0) continue;
                if (!params[i].grad().defined()) params[i].mutable_grad() = torch::zeros_like(params[i]);
                grads.push_back(params[i].grad());
            }
            dist::all_reduce_mean(grads);
        }
        double grad_norm = 0.0;
        if (options_.grad_clip > 0) grad_norm = torch::nn::utils::clip_grad_norm_(params, options_.grad_clip);
        optimizer_.step();
        if (ema_) ema_->update(model_);
        ++step_;
        ++made;
        samples += dist::active() ? int64_t(dist::all_reduce_sum(double(result.samples))) : result.samples;
        progress.advance();
        char status[64];
        std::snprintf(status, sizeof status, "loss %.4f", loss);
        progress.set_status(status);
        if (options_.log_every > 0 && (step_ % options_.log_every == 0 || step_ == options_.steps)) {
            auto values = dist::all_reduce_mean(result.metrics);
            values["loss"] = loss;
            values["lr"] = lr;
            if (options_.grad_clip > 0) values["grad_norm"] = grad_norm;
            log_record(values, "train");
        }
        bool last = step_ == options_.steps;
        const auto side_start = std::chrono::steady_clock::now();  // validation + checkpoint: not training speed
        if (val_fn && ((options_.val_every > 0 && step_ % options_.val_every == 0) || last)) {
            auto values = val_fn();
            log_record(values, "val");
            if (stop_requested_) {
                stopped_ = true;
                last = true;
                V2A_LOG_INFO("%s: stopping early after the validation at step %lld", options_.name.c_str(),
                             (long long)step_);
            }
        }
        if ((options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0) || last) {
            save_checkpoint();
            draw_curve();
        }
        side_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - side_start).count();
    }
    progress.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    throughput_ = seconds > 0 ? double(samples) / seconds : 0.0;
    if (made > 0) {
        // <run>/throughput.json: speed of this call's updates, and with several processes the communication
        // per update (every collective of this rank: gradients, losses, metrics).
        const double train_seconds = seconds - side_seconds;
        std::map<std::string, double> speed{
            {"world_size", double(dist::world_size())},
            {"updates_per_second", seconds > 0 ? double(made) / seconds : 0.0},  // wall clock of the loop
            {"samples_per_second", throughput_},
            // updates alone (validation and checkpoints excluded): the training speed of a layout
            {"train_updates_per_second", train_seconds > 0 ? double(made) / train_seconds : 0.0},
            {"validation_checkpoint_seconds", side_seconds}};
        if (dist::active()) {
            const auto t = dist::traffic();
            speed["collectives_per_update"] = double(t.collectives) / double(made);
            speed["bytes_per_update"] = double(t.bytes) / double(made);
            speed["comm_ms_per_update"] = 1000.0 * t.seconds / double(made);
            V2A_LOG_INFO("%s: %d processes, %.2f MB all-reduced and %.1f ms in collectives per update, %.3f updates/s",
                         options_.name.c_str(), dist::world_size(), speed["bytes_per_update"] / 1e6,
                         speed["comm_ms_per_update"], speed["train_updates_per_second"]);
        }
        if (dist::is_writer()) fs::write_atomic(options_.run_dir / "throughput.json", nlohmann::json(speed).dump(2) + "\n");
    }
    export_model();
    return made;
}

std::unique_ptr<torch::optim::AdamW> generator_adamw(torch::nn::Module& model, double lr) {
    std::vector<torch::Tensor> params;
    for (auto& p : model.parameters()) {
        if (p.requires_grad()) params.push_back(p);
    }
    return std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(1e-6).eps(1e-8));
}

}  // namespace v2a::train
