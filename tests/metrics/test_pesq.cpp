// PESQ (clean-room P.862 / P.862.1 / P.862.2): the public python-pesq test vector, mapping formulas,
// behaviour on known signals (identical, added noise, gain, delay) and every kind of bad input.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "v2a/core/error.h"
#include "v2a/metrics/pesq.h"

namespace v2a::metrics {
namespace {

const std::string kDir = std::string(V2A_TESTDATA) + "/pesq/";

// 16-bit mono WAV as int16 values (as float), read with libsndfile directly.
std::vector<float> read_int16(const std::string& path) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (!f) throw std::runtime_error("cannot open " + path);
    EXPECT_EQ(info.channels, 1) << path;
    EXPECT_EQ(info.samplerate, 16000) << path;
    std::vector<short> s(size_t(info.frames));
    EXPECT_EQ(sf_read_short(f, s.data(), info.frames), info.frames);
    sf_close(f);
    return std::vector<float>(s.begin(), s.end());
}

struct Pair {
    std::vector<float> ref, deg;
};

// python-pesq convention: both signals divided by max(|ref|, |deg|).
const Pair& test_pair() {
    static const Pair p = [] {
        Pair q{read_int16(kDir + "speech.wav"), read_int16(kDir + "speech_bab_0dB.wav")};
        double m = 0;
        for (float v : q.ref) m = std::max(m, double(std::abs(v)));
        for (float v : q.deg) m = std::max(m, double(std::abs(v)));
        for (auto& v : q.ref) v = float(v / m);
        for (auto& v : q.deg) v = float(v / m);
        return q;
    }();
    return p;
}

std::vector<float> with_white_noise(const std::vector<float>& x, double snr_db, unsigned seed) {
    double p = 0;
    for (float v : x) p += double(v) * v;
    p /= double(x.size());
    const double sd = std::sqrt(p / std::pow(10.0, snr_db / 10.0));
    std::mt19937 gen(seed);
    std::normal_distribution<double> n(0.0, 1.0);
    std::vector<float> y = x;
    for (auto& v : y) v = float(v + sd * n(gen));
    return y;
}

template <typename F>
void expect_data_error(F&& f, const std::string& needle) {
    try {
        f();
        FAIL() << "no error (expected one mentioning '" << needle << "')";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Data);
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(PesqTest, PublicVectorWideband) {
    const auto& p = test_pair();
    // python-pesq: pesq(16000, ref, deg, 'wb') = 1.0832337141036987. This implementation: 1.0859.
    EXPECT_NEAR(pesq(p.ref, p.deg, 16000, PesqMode::WB), 1.0832337, 0.01);
}

TEST(PesqTest, PublicVectorNarrowband) {
    const auto& p = test_pair();
    // python-pesq: pesq(16000, ref, deg, 'nb') = 1.6072081327438354 (MOS-LQO). This implementation: 1.6174.
    const auto r = pesq_detailed(p.ref, p.deg, 16000, PesqMode::NB);
    EXPECT_NEAR(r.mos_lqo, 1.6072081, 0.02);
    EXPECT_NEAR(r.mos_lqo, pesq_map_nb(r.raw), 1e-12);
    EXPECT_NEAR(r.raw, 4.5 - 0.1 * r.d_ind - 0.0309 * r.a_ind, 1e-12);
    // Babble was added to the clean file sample-synchronously: every utterance has delay 0.
    ASSERT_FALSE(r.utterances.empty());
    for (const auto& u : r.utterances) EXPECT_EQ(u.delay, 0);
}

TEST(PesqTest, MappingFunctionsMatchPublishedFormulas) {
    // P.862.1 / P.862.2 at raw 2.0: 0.999 + 4/(1+exp(-2.989+4.6607)) and 0.999 + 4/(1+exp(-2.7338+3.8224)).
    EXPECT_NEAR(pesq_map_nb(2.0), 1.6318, 1e-4);
    EXPECT_NEAR(pesq_map_wb(2.0), 2.0065, 1e-4);
    EXPECT_NEAR(pesq_map_nb(4.5), 4.548638, 1e-6);
    EXPECT_NEAR(pesq_map_wb(4.5), 4.643889, 1e-6);
}

TEST(PesqTest, IdenticalSignalsGiveTheMaximum) {
    const auto& ref = test_pair().ref;
    for (auto mode : {PesqMode::NB, PesqMode::WB}) {
        const auto r = pesq_detailed(ref, ref, 16000, mode);
        EXPECT_NEAR(r.raw, 4.5, 1e-9);
        EXPECT_NEAR(r.d_ind, 0.0, 1e-9);
        EXPECT_NEAR(r.a_ind, 0.0, 1e-9);
        EXPECT_NEAR(r.mos_lqo, mode == PesqMode::NB ? 4.548638 : 4.643889, 1e-5);
    }
}

TEST(PesqTest, ScoreFallsAsWhiteNoiseRises) {
    const auto& ref = test_pair().ref;
    for (auto mode : {PesqMode::NB, PesqMode::WB}) {
        double prev = pesq(ref, ref, 16000, mode);
        for (double snr : {30.0, 20.0, 10.0, 0.0}) {
            const double s = pesq(ref, with_white_noise(ref, snr, 7), 16000, mode);
            EXPECT_LT(s, prev) << "snr " << snr << " dB, mode " << int(mode);
            prev = s;
        }
        EXPECT_LT(prev, 1.6);  // 0 dB white noise is bad quality in either mode
    }
}

TEST(PesqTest, InvariantToDegradedGain) {
    const auto& p = test_pair();
    std::vector<float> quiet = p.deg;
    for (auto& v : quiet) v *= 0.3f;
    for (auto mode : {PesqMode::NB, PesqMode::WB})
        EXPECT_NEAR(pesq(p.ref, quiet, 16000, mode), pesq(p.ref, p.deg, 16000, mode), 1e-4);
}

TEST(PesqTest, InvariantToPureDelay) {
    const auto& p = test_pair();
    std::vector<float> late(1600, 0.0f);  // 100 ms
    late.insert(late.end(), p.deg.begin(), p.deg.end());
    for (auto mode : {PesqMode::NB, PesqMode::WB}) {
        const auto r = pesq_detailed(p.ref, late, 16000, mode);
        EXPECT_NEAR(r.mos_lqo, pesq(p.ref, p.deg, 16000, mode), 0.02);
        for (const auto& u : r.utterances) EXPECT_EQ(u.delay, 1600);
    }
    std::vector<float> clean_late(1600, 0.0f);
    clean_late.insert(clean_late.end(), p.ref.begin(), p.ref.end());
    EXPECT_NEAR(pesq_detailed(p.ref, clean_late, 16000, PesqMode::NB).raw, 4.5, 1e-6);
}

TEST(PesqTest, NarrowbandAt8kHz) {
    // 2:1 decimation by pair averaging is enough for a speech-band test signal.
    const auto& p = test_pair();
    auto half = [](const std::vector<float>& x) {
        std::vector<float> y;
        for (size_t i = 0; i + 1 < x.size(); i += 2) y.push_back(0.5f * (x[i] + x[i + 1]));
        return y;
    };
    const auto r8 = half(p.ref), d8 = half(p.deg);
    EXPECT_NEAR(pesq_detailed(r8, r8, 8000, PesqMode::NB).raw, 4.5, 1e-9);
    // The same pair scores similarly at 8 and 16 kHz (P.862 is designed to).
    EXPECT_NEAR(pesq(r8, d8, 8000, PesqMode::NB), pesq(p.ref, p.deg, 16000, PesqMode::NB), 0.1);
}

TEST(PesqTest, RejectsUnsupportedSampleRate) {
    const auto& p = test_pair();
    expect_data_error([&] { pesq(p.ref, p.deg, 44100, PesqMode::NB); }, "44100");
}

TEST(PesqTest, RejectsWidebandAt8kHz) {
    const auto& p = test_pair();
    expect_data_error([&] { pesq(p.ref, p.deg, 8000, PesqMode::WB); }, "wideband");
}

TEST(PesqTest, RejectsTooShortSignals) {
    const auto& p = test_pair();
    // 16 kHz: 2 * 75 * 64 + 16000 / 4 = 13600 samples needed.
    const std::vector<float> short_sig(p.ref.begin(), p.ref.begin() + 13599);
    expect_data_error([&] { pesq(short_sig, p.deg, 16000, PesqMode::NB); }, "reference signal has 13599");
    expect_data_error([&] { pesq(p.ref, short_sig, 16000, PesqMode::WB); }, "degraded signal has 13599");
}

TEST(PesqTest, RejectsSilentSignals) {
    const auto& p = test_pair();
    const std::vector<float> zeros(p.ref.size(), 0.0f);
    expect_data_error([&] { pesq(zeros, p.deg, 16000, PesqMode::NB); }, "reference signal is silent");
    expect_data_error([&] { pesq(p.ref, zeros, 16000, PesqMode::NB); }, "degraded signal is silent");
}

TEST(PesqTest, RejectsNonFiniteSamples) {
    const auto& p = test_pair();
    auto bad = p.deg;
    bad[1234] = std::numeric_limits<float>::quiet_NaN();
    expect_data_error([&] { pesq(p.ref, bad, 16000, PesqMode::NB); }, "degraded signal has a non-finite sample at index 1234");
    auto inf = p.ref;
    inf[7] = std::numeric_limits<float>::infinity();
    expect_data_error([&] { pesq(inf, p.deg, 16000, PesqMode::WB); }, "reference signal has a non-finite");
}

}  // namespace
}  // namespace v2a::metrics
