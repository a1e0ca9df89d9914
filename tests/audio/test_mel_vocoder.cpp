#include <gtest/gtest.h>
#include <torch/torch.h>

#include "v2a/audio/mel.h"
#include "v2a/audio/vocoder.h"
#include "v2a/core/error.h"

namespace v2a::audio {
namespace {

torch::Tensor tone(double freq, int sr, int64_t n, double amp = 0.5) {
    auto t = torch::arange(n, torch::kFloat64) / sr;
    return (amp * torch::sin(2 * M_PI * freq * t)).to(torch::kFloat32);
}

TEST(MelScaleTest, SlaneyAndHtkKnownValues) {
    // Slaney: linear 200/3 Hz per mel below 1 kHz, log above with 27 mels per factor 6.4.
    EXPECT_DOUBLE_EQ(hz_to_mel(0), 0.0);
    EXPECT_NEAR(hz_to_mel(500), 7.5, 1e-12);
    EXPECT_NEAR(hz_to_mel(1000), 15.0, 1e-12);
    EXPECT_NEAR(hz_to_mel(6400), 42.0, 1e-12);
    EXPECT_NEAR(mel_to_hz(42.0), 6400.0, 1e-9);
    EXPECT_NEAR(hz_to_mel(1000, true), 999.9855, 1e-3);  // 2595 log10(1 + 1000/700)
    for (double hz : {30.0, 700.0, 1000.0, 3210.0, 7999.0}) EXPECT_NEAR(mel_to_hz(hz_to_mel(hz)), hz, 1e-9);
}

TEST(MelFilterbankTest, ShapeTrianglesAndSlaneyUnitArea) {
    auto fb = mel_filterbank(16000, 1024, 80, 0, 8000);
    ASSERT_EQ(fb.sizes(), (std::vector<int64_t>{80, 513}));
    EXPECT_GE(fb.min().item<float>(), 0.0f);
    // Slaney normalisation gives every triangle unit area in Hz; wide (high) bands integrate exactly.
    const double bin_hz = 16000.0 / 1024.0;
    for (int m = 40; m < 79; ++m) {
        EXPECT_NEAR(fb[m].sum().item<double>() * bin_hz, 1.0, 0.02) << "band " << m;
    }
    // Each band peaks between its neighbours: peak bins strictly increase for the upper bands.
    auto peaks = fb.argmax(1);
    for (int m = 30; m < 80; ++m) EXPECT_GT(peaks[m].item<int64_t>(), peaks[m - 1].item<int64_t>());
}

TEST(MelSpectrogramTest, FrameCountMatchesMMAudioFraming) {
    MelSpectrogram mel;
    auto spec = mel(torch::zeros({2, 16000 * 4}));  // 4 s at 16 kHz
    EXPECT_EQ(spec.sizes(), (std::vector<int64_t>{2, 80, 250}));  // T / hop frames
    EXPECT_EQ(mel.options().n_frames(64000), 250);
    // Silence clamps to log10(1e-5) = -5 everywhere.
    EXPECT_NEAR(spec.max().item<float>(), -5.0f, 1e-4);
}

TEST(MelSpectrogramTest, ToneEnergyLandsInItsBand) {
    MelSpectrogram mel;
    const double freq = 1000.0;
    auto spec = mel(tone(freq, 16000, 32000));        // [80, frames]
    auto band = spec.mean(1).argmax().item<int64_t>();
    // The band whose triangle peaks nearest 1 kHz.
    auto expected = mel.filterbank().narrow(1, 64, 1).squeeze(1).argmax().item<int64_t>();  // bin 64 = 1000 Hz
    EXPECT_EQ(band, expected);
    // Level: a louder tone raises log-mel by log10(gain) in that band.
    auto louder = mel(tone(freq, 16000, 32000, 1.0)).mean(1)[band].item<double>();
    EXPECT_NEAR(louder - spec.mean(1)[band].item<double>(), std::log10(2.0), 1e-3);
}

TEST(MelSpectrogramTest, BadInputIsAnError) {
    MelSpectrogram mel;
    EXPECT_THROW(mel(torch::zeros({1, 2, 3, 4})), Error);
    EXPECT_THROW(mel(torch::zeros({10})), Error);  // shorter than the reflect padding
    MelOptions bad;
    bad.fmax = 9000;  // above Nyquist at 16 kHz
    EXPECT_THROW(MelSpectrogram{bad}, Error);
}

TEST(GriffinLimTest, IstftInvertsStftExactly) {
    GriffinLimVocoder vocoder;
    auto wav = tone(440, 16000, 256 * 40).unsqueeze(0) + 0.1 * torch::randn({1, 256 * 40});
    auto back = vocoder.istft(vocoder.stft(wav));
    ASSERT_EQ(back.sizes(), wav.sizes());
    EXPECT_LT((back - wav).abs().max().item<float>(), 1e-4);
}

TEST(GriffinLimTest, MoreIterationsConvergeAndToneSurvives) {
    MelSpectrogram mel;
    auto wav = (tone(440, 16000, 256 * 64) + tone(1200, 16000, 256 * 64, 0.2)).unsqueeze(0);
    auto log_mel = mel(wav);
    auto reference = mel.magnitude(wav);
    auto sc = [&](int iterations) {
        GriffinLimVocoder vocoder({}, {iterations, 0.99, 30, 0});
        auto out = vocoder.decode(log_mel);
        EXPECT_EQ(out.size(1), wav.size(1));
        return spectral_convergence(reference, mel.magnitude(out));
    };
    const double few = sc(2), many = sc(48);
    EXPECT_LT(many, few);
    EXPECT_LT(many, 0.5);
    // The dominant frequency of the reconstruction is the tone's.
    GriffinLimVocoder vocoder;
    auto out = vocoder.decode(log_mel)[0];
    auto spectrum = torch::fft_rfft(out).abs();
    const double peak_hz = spectrum.argmax().item<int64_t>() * 16000.0 / out.size(0);
    EXPECT_NEAR(peak_hz, 440.0, 5.0);
}

TEST(GriffinLimTest, SameSeedSameAudio) {
    MelSpectrogram mel;
    auto log_mel = mel(tone(300, 16000, 256 * 20).unsqueeze(0));
    GriffinLimVocoder a({}, {8, 0.99, 10, 7}), b({}, {8, 0.99, 10, 7}), c({}, {8, 0.99, 10, 8});
    EXPECT_TRUE(torch::equal(a.decode(log_mel), b.decode(log_mel)));
    EXPECT_FALSE(torch::equal(a.decode(log_mel), c.decode(log_mel)));
}

}  // namespace
}  // namespace v2a::audio
