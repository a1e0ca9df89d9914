#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/jsonl.h"
#include "v2a/io/checkpoint.h"
#include "v2a/train/batch_sampler.h"
#include "v2a/train/ema.h"
#include "v2a/train/schedule.h"
#include "v2a/train/train_loop.h"

namespace v2a::train {
namespace {

TEST(LrScheduleTest, WarmupThenShapes) {
    LrSchedule s;
    s.base_lr = 1.0;
    s.warmup_steps = 4;
    EXPECT_DOUBLE_EQ(s.at(0), 0.25);
    EXPECT_DOUBLE_EQ(s.at(3), 1.0);
    EXPECT_DOUBLE_EQ(s.at(100), 1.0);
    s.kind = LrSchedule::Kind::Cosine;
    s.total_steps = 14;
    s.min_lr = 0.0;
    EXPECT_NEAR(s.at(9), 0.5, 1e-12);   // halfway through the 10 decay steps
    EXPECT_NEAR(s.at(14), 0.0, 1e-12);
    s.kind = LrSchedule::Kind::Step;
    s.milestones = {10, 20};
    EXPECT_DOUBLE_EQ(s.at(9), 1.0);
    EXPECT_NEAR(s.at(10), 0.1, 1e-12);
    EXPECT_NEAR(s.at(25), 0.01, 1e-12);
    EXPECT_THROW(LrSchedule::parse_kind("linear"), Error);
}

TEST(LrScheduleTest, TrainerDecayReachesTheLoopSchedule) {
    // What `v2a train --lr-schedule step --lr-milestones 8,9` gives the loop: MMAudio's x0.1 at 80% and 90%.
    struct Options {
        std::filesystem::path run_dir = "run";
        int64_t steps = 10, log_every = 1, val_every = 0, checkpoint_every = 0, warmup = 2;
        double lr = 1e-3;
        LrDecay decay;
        bool resume = false;
        uint64_t seed = 0;
        int64_t stop_after = -1;
    } o;
    o.decay.kind = LrSchedule::Kind::Step;
    o.decay.milestones = {8, 9};
    const auto lo = generator_loop_options("t", o, 0.0, "{}");
    EXPECT_DOUBLE_EQ(lo.schedule.at(0), 5e-4);  // warmup
    EXPECT_DOUBLE_EQ(lo.schedule.at(7), 1e-3);
    EXPECT_NEAR(lo.schedule.at(8), 1e-4, 1e-18);
    EXPECT_NEAR(lo.schedule.at(9), 1e-5, 1e-18);
    o.decay = LrDecay{};
    o.decay.kind = LrSchedule::Kind::Cosine;
    o.decay.min_lr = 1e-5;
    const auto cos = generator_loop_options("t", o, 0.0, "{}");
    EXPECT_NEAR(cos.schedule.at(10), 1e-5, 1e-18);  // reaches the floor at the run's end
    EXPECT_NEAR(cos.schedule.at(6), 1e-5 + 0.5 * (1e-3 - 1e-5), 1e-15);  // halfway through the decay
}

TEST(BatchSamplerTest, EpochsArePermutationsAndRestoreIsExact) {
    BatchSampler a(10, 4, 7);
    std::vector<int64_t> seen;
    for (int i = 0; i < 5; ++i) {
        auto b = a.next();
        seen.insert(seen.end(), b.begin(), b.end());
    }
    std::vector<int64_t> first(seen.begin(), seen.begin() + 10);
    std::sort(first.begin(), first.end());
    for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(first[size_t(i)], i);
    // A sampler restored to (epoch, position) continues identically.
    BatchSampler b(10, 4, 7);
    b.next();
    b.next();
    BatchSampler c(10, 4, 7);
    c.restore(b.epoch(), b.position());
    for (int i = 0; i < 6; ++i) EXPECT_EQ(b.next(), c.next());
    EXPECT_THROW(BatchSampler(0, 4, 1), Error);
    EXPECT_THROW(c.restore(0, 11), Error);
}

TEST(EmaTest, MatchesHandComputedAverage) {
    torch::nn::Linear lin(1, 1);
    {
        torch::NoGradGuard g;
        lin->weight.fill_(0.0);
        lin->bias.fill_(0.0);
    }
    Ema ema(*lin, 0.5);
    {
        torch::NoGradGuard g;
        lin->weight.fill_(1.0);
    }
    ema.update(*lin);  // warm-up decay min(0.5, 1/10) = 0.1 -> 0.9
    EXPECT_NEAR(ema.state().at("weight").item<double>(), 0.9, 1e-6);
    ema.update(*lin);  // min(0.5, 2/11) = 2/11 -> 0.9*2/11 + 9/11
    EXPECT_NEAR(ema.state().at("weight").item<double>(), 0.9 * 2 / 11 + 9.0 / 11, 1e-6);
    EXPECT_THROW(Ema(*lin, 1.0), Error);
}

// A small regression task whose steps consume the loop's generator and the batch sampler, so an
// exact resume must restore weights, optimizer moments, EMA, RNG and data position.
struct ToyTask {
    torch::Tensor x = torch::randn({32, 4}, at::detail::createCPUGenerator(11));
    torch::Tensor y = x.matmul(torch::tensor({1.0f, -2.0f, 0.5f, 3.0f})).unsqueeze(1);
};

io::TensorMap train_toy(const std::filesystem::path& dir, int64_t steps, int64_t stop_after, bool resume,
                        double* first_loss = nullptr, double* last_loss = nullptr) {
    static ToyTask task;
    torch::manual_seed(5);
    torch::nn::Linear model(4, 1);
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(0.05).betas({0.9, 0.95}));
    BatchSampler sampler(32, 8, 3);
    TrainLoopOptions o;
    o.run_dir = dir;
    o.steps = steps;
    o.checkpoint_every = 5;
    o.log_every = 1;
    o.schedule.base_lr = 0.05;
    o.schedule.warmup_steps = 3;
    o.ema_decay = 0.9;
    o.resume = resume;
    o.stop_after = stop_after;
    o.seed = 42;
    TrainLoop loop(o, *model, opt, &sampler);
    loop.run([&](int64_t, torch::Generator& gen) {
        auto idx = torch::tensor(sampler.next());
        auto noise = 0.01 * torch::randn({8, 1}, gen);  // uses the loop's RNG
        auto pred = model->forward(task.x.index_select(0, idx));
        auto loss = (pred - task.y.index_select(0, idx) - noise).pow(2).mean();
        return StepResult{loss, {}, 8};
    });
    if (first_loss != nullptr || last_loss != nullptr) {
        auto records = read_jsonl(dir / "metrics.jsonl");
        if (first_loss) *first_loss = records.front()["loss"].get<double>();
        if (last_loss) *last_loss = records.back()["loss"].get<double>();
    }
    io::TensorMap out = io::state_dict(*model);
    for (auto& [k, v] : loop.ema()->state()) out["ema." + k] = v;
    return out;
}

TEST(TrainLoopTest, LossFallsAndOutputsAreWritten) {
    test::TempDir dir;
    double first = 0, last = 0;
    train_toy(dir.path(), 150, -1, false, &first, &last);
    EXPECT_LT(last, 0.1 * first);
    EXPECT_TRUE(std::filesystem::exists(dir / "model.safetensors"));
    EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint" / "optimizer.pt"));
    EXPECT_EQ(read_jsonl(dir / "metrics.jsonl").size(), 150u);
}

TEST(TrainLoopTest, InterruptedAndResumedEqualsUninterrupted) {
    test::TempDir straight, interrupted;
    auto reference = train_toy(straight.path(), 23, -1, false);
    // Killed after 12 updates: the last checkpoint is step 10, so steps 11-12 are redone.
    train_toy(interrupted.path(), 23, 12, false);
    auto resumed = train_toy(interrupted.path(), 23, -1, true);
    ASSERT_EQ(reference.size(), resumed.size());
    for (auto& [name, tensor] : reference) {
        EXPECT_TRUE(torch::equal(tensor, resumed.at(name))) << name;
    }
    // The log has each step once, as an uninterrupted run's.
    auto records = read_jsonl(interrupted / "metrics.jsonl");
    ASSERT_EQ(records.size(), 23u);
    for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i]["step"].get<int64_t>(), int64_t(i + 1));
}

TEST(TrainLoopTest, CorruptCheckpointIsANamedError) {
    test::TempDir dir;
    train_toy(dir.path(), 5, -1, false);
    fs::write_atomic(dir / "checkpoint" / "state.json", std::string("{broken"));
    try {
        train_toy(dir.path(), 10, -1, true);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("state.json"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace v2a::train
