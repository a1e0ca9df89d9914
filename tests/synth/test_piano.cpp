// The piano benchmark (issue 18): exact, reproducible MIDI ground truth; a roll that matches the notes
// frame by frame; audio in which notes start where the ground truth says and the pedal sustains; a
// video in which the pressed key is what changes; two pianists whose styles differ measurably; a
// resumable dataset writer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/expect_error.h"
#include "support/temp_dir.h"
#include "v2a/core/fs.h"
#include "v2a/io/safetensors.h"
#include "v2a/synth/piano.h"

namespace v2a::synth {
namespace {

ClipConfig config(double seconds = 4.0) {
    ClipConfig c;
    c.seconds = seconds;
    return c;
}

double energy(const std::vector<float>& x, double from, double to, int rate = 16000) {
    double e = 0;
    for (int64_t i = std::llround(from * rate); i < std::llround(to * rate) && i < int64_t(x.size()); ++i) e += x[size_t(i)] * x[size_t(i)];
    return e;
}

TEST(PianoTest, SpecsAreReproducibleAndThePianistsBalanced) {
    const auto a = piano_spec_to_json(sample_piano_spec(config(), 3, "train", 5), config());
    const auto b = piano_spec_to_json(sample_piano_spec(config(), 3, "train", 5), config());
    EXPECT_EQ(a, b);
    EXPECT_NE(a, piano_spec_to_json(sample_piano_spec(config(), 3, "train", 6), config()));
    EXPECT_NE(a, piano_spec_to_json(sample_piano_spec(config(), 4, "train", 5), config()));
    int lyrical = 0;
    for (int i = 0; i < 40; ++i) {
        const auto s = sample_piano_spec(config(), 0, "train", i);
        lyrical += s.pianist == 0;
        ASSERT_FALSE(s.notes.empty());
        for (const auto& n : s.notes) {
            EXPECT_GE(n.key, 21);
            EXPECT_LE(n.key, 108);
            EXPECT_GT(n.offset, n.onset);
            EXPECT_LE(n.offset, 4.0 + 1e-9);
            EXPECT_NEAR(n.onset * 16000 / 64, std::round(n.onset * 16000 / 64), 1e-6);  // on FluidSynth's grid
        }
    }
    EXPECT_EQ(lyrical, 20);  // clips 2i and 2i+1: one of each
}

TEST(PianoTest, ThePianistsStylesDifferMeasurably) {
    // Per pianist over 30 clips: loudness, legato (a right-hand note still held when the next starts), pedal.
    double velocity[2] = {0, 0}, overlap[2] = {0, 0}, pedalled[2] = {0, 0};
    int notes[2] = {0, 0}, pairs[2] = {0, 0}, clips[2] = {0, 0};
    for (int i = 0; i < 60; ++i) {
        const auto s = sample_piano_spec(config(), 1, "train", i);
        const int p = s.pianist;
        ++clips[p];
        const PianoNote* last = nullptr;
        for (const auto& n : s.notes) {
            velocity[p] += n.velocity;
            ++notes[p];
            if (n.left_hand) continue;
            if (last) {
                overlap[p] += last->offset > n.onset;
                ++pairs[p];
            }
            last = &n;
        }
        for (const auto& span : s.pedal) pedalled[p] += (span.up - span.down) / 4.0;
    }
    const double v0 = velocity[0] / notes[0], v1 = velocity[1] / notes[1];
    EXPECT_LT(v0 + 15, v1);                          // lyrical is softer
    EXPECT_GT(overlap[0] / pairs[0], 0.8);           // legato
    EXPECT_LT(overlap[1] / pairs[1], 0.05);          // staccato
    EXPECT_GT(pedalled[0] / clips[0], 0.5);          // the pedal is down most of a lyrical clip
    EXPECT_EQ(pedalled[1], 0.0);                     // never for the metronomic one
}

PianoSpec two_notes() {
    PianoSpec s;
    s.id = "hand";
    s.notes = {{60, 0.10, 0.30, 90, false}, {62, 0.28, 0.50, 50, false}};
    return s;
}

TEST(PianoTest, TheRollHoldsEachNotesVelocityOnTheFramesItsKeyIsDown) {
    const auto roll = piano_roll(two_notes(), config(1.0));  // 25 frames, t_k = 0.04 k
    ASSERT_EQ(roll.sizes(), (torch::IntArrayRef{25, 88}));
    // Key 60 (index 39): 0.10 <= t < 0.30 -> frames 3..7; key 62 (index 41): 0.28 <= t < 0.50 -> frames 7..12.
    for (int k = 0; k < 25; ++k) {
        EXPECT_EQ(roll[k][39].item<int>(), k >= 3 && k <= 7 ? 90 : 0) << k;
        EXPECT_EQ(roll[k][41].item<int>(), k >= 7 && k <= 12 ? 50 : 0) << k;
    }
    EXPECT_EQ(roll.sum().item<int64_t>(), 5 * 90 + 6 * 50);
    EXPECT_EQ(piano_roll(two_notes(), config(1.0), true).sum().item<int64_t>(), 11);
}

TEST(PianoTest, NotesSoundFromTheirOnsetAndThePedalSustainsThem) {
    PianoSpec s;
    s.notes = {{60, 0.5, 0.7, 100, false}};
    const auto dry = render_piano_audio(s, config(2.0));
    ASSERT_EQ(dry.size(), 32000u);
    EXPECT_LT(energy(dry, 0.0, 0.5), 1e-6);
    EXPECT_GT(energy(dry, 0.5, 0.6), 0.1);  // rms ~0.025 at velocity 100: 5 orders above the silence before
    s.pedal = {{0.3, 2.0}};
    const auto wet = render_piano_audio(s, config(2.0));
    EXPECT_LT(energy(wet, 0.0, 0.5), 1e-6);
    EXPECT_GT(energy(wet, 1.0, 1.5), 5.0 * energy(dry, 1.0, 1.5) + 1e-3);  // released key, pedal down: it rings on
}

TEST(PianoTest, ThePressedKeyIsWhatChangesInTheVideo) {
    PianoVideoOptions o;
    o.hands = false;
    o.imperfections = false;
    const auto frames = render_piano_video(two_notes(), config(1.0), o);
    ASSERT_EQ(frames.sizes(), (torch::IntArrayRef{25, o.height(), o.width(), 3}));
    // Frame 5: only key 60 is down. The pixels that differ from frame 0 lie in one narrow column band
    // (the key, both views) and in both views.
    const auto diff = (frames[5].to(torch::kInt) - frames[0].to(torch::kInt)).abs().sum(2) > 0;  // [H, W]
    const auto cols = diff.any(0).nonzero().squeeze(1);
    ASSERT_GT(cols.numel(), 0);
    EXPECT_LE((cols.max() - cols.min()).item<int64_t>(), o.white_key_px + 1);
    EXPECT_TRUE(diff.narrow(0, 0, o.view_height).any().item<bool>());               // top view
    EXPECT_TRUE(diff.narrow(0, o.view_height, o.view_height).any().item<bool>());   // front view
    EXPECT_TRUE(torch::equal(frames[0], frames[20]));  // nothing held: the keyboard at rest
}

TEST(PianoTest, ARollBecomesOneNotePerRunOfHeldFrames) {
    auto roll = torch::zeros({10, 88}, torch::kUInt8);
    roll.index_put_({torch::indexing::Slice(2, 5), 39}, 90);  // C4 held on frames 2-4
    roll.index_put_({torch::indexing::Slice(7, 9), 39}, 70);  // and again on 7-8
    roll.index_put_({0, 41}, 50);                              // D4 for one frame
    const auto notes = roll_to_notes(roll, 25.0);
    ASSERT_EQ(notes.size(), 3u);
    EXPECT_EQ(notes[0].key, 62);
    EXPECT_DOUBLE_EQ(notes[0].onset, 0.0);
    EXPECT_DOUBLE_EQ(notes[0].offset, 0.04);
    EXPECT_EQ(notes[1].key, 60);
    EXPECT_DOUBLE_EQ(notes[1].onset, 0.08);
    EXPECT_DOUBLE_EQ(notes[1].offset, 0.20);
    EXPECT_EQ(notes[1].velocity, 90);  // velocities kept when the roll has them
    EXPECT_EQ(notes[2].velocity, 70);
    EXPECT_EQ(roll_to_notes(roll, 25.0, 80, 2).size(), 2u);  // the one-frame note dropped
    EXPECT_EQ(roll_to_notes(roll > 0, 25.0, 33)[1].velocity, 33);  // a binary roll takes the given velocity
    // The round trip of a performance through its roll keeps every note that lasts a frame, at frame precision.
    const auto spec = sample_piano_spec(config(), 2, "test", 0);
    const auto back = roll_to_notes(piano_roll(spec, config()), 25.0);
    size_t visible = 0;
    for (const auto& n : spec.notes) visible += std::ceil(n.offset * 25 - 1e-9) > std::ceil(n.onset * 25 - 1e-9);
    EXPECT_LE(back.size(), visible);  // repeated keys whose runs touch merge into one
    EXPECT_GE(back.size(), visible * 8 / 10);
    v2a::test::expect_error([] { roll_to_notes(torch::zeros({4, 12}), 25.0); }, ErrorKind::Usage, "[T, 88]");
}

TEST(PianoTest, TheDatasetIsWrittenOnceAndResumed) {
    test::TempDir dir;
    PianoDatasetOptions o;
    o.out = dir / "piano";
    o.n_train = 2;
    o.n_val = 1;
    o.n_test = 1;
    o.config = config(2.0);
    o.workers = 1;
    const auto first = write_piano_dataset(o);
    EXPECT_EQ(first["rendered"], 4);
    const auto manifest = fs::read_text(o.out / "manifest.csv");
    EXPECT_NE(manifest.find("piano_test_00000"), std::string::npos);
    EXPECT_TRUE(manifest.find(",lyrical,") != std::string::npos || manifest.find(",metronomic,") != std::string::npos);
    const auto spec = sample_piano_spec(o.config, 0, "val", 0);
    const auto stored = io::load_safetensors(o.out / "clips" / "piano_val_00000.roll.safetensors").tensors.at("roll");
    EXPECT_TRUE(torch::equal(stored, piano_roll(spec, o.config)));
    const auto truth = nlohmann::json::parse(fs::read_text(o.out / "clips" / "piano_val_00000.json"));
    EXPECT_EQ(truth["notes"].size(), spec.notes.size());
    EXPECT_EQ(truth["pianist"], pianists()[size_t(spec.pianist)].name);
    const auto again = write_piano_dataset(o);
    EXPECT_EQ(again["skipped"], 4);
    o.video.white_key_px = 3;  // another frame size: every clip is rendered again
    EXPECT_EQ(write_piano_dataset(o)["rendered"], 4);
    o.n_train = o.n_val = o.n_test = 0;
    v2a::test::expect_error([&] { write_piano_dataset(o); }, ErrorKind::Usage, "clip counts");
}

}  // namespace
}  // namespace v2a::synth
