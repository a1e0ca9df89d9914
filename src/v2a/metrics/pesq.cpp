// Clean-room PESQ. Structure follows the published description of ITU-T P.862 (level alignment, input
// filter, envelope-based time alignment with utterance delays, perceptual model on Bark-scale pitch
// power densities, disturbance aggregation) with the P.862.1 / P.862.2 mappings. Tables that the
// Recommendation only describes (Bark bands, hearing thresholds) are derived here from published
// psychoacoustic formulas; docs/PESQ.md says where each value comes from.
#include "v2a/metrics/pesq.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <complex>
#include <numeric>
#include <utility>

#include "v2a/core/error.h"

namespace v2a::metrics {
namespace {

using cd = std::complex<double>;

constexpr double kPi = 3.14159265358979323846;
constexpr double kTargetPower = 1e7;    // level alignment target (mean power of the filtered signal)
constexpr int kSearchBuffer = 75;       // envelope blocks of zeros around each signal / search range
constexpr int kDataPaddingMs = 320;     // extra zeros after each signal
constexpr int kMinSpeechBlocks = 4;     // shorter VAD bursts are ignored
constexpr int kJoinSpeechBlocks = 50;   // VAD gaps shorter than this are bridged (200 ms)
constexpr int kMinUttBlocks = 50;       // shorter utterances are merged into a neighbour
constexpr double kSl = 1.866055e-1;     // loudness scaling (Zwicker law)
constexpr double kZwickerPower = 0.23;  // loudness exponent
// Pitch power density = kDensityCalibration * Sp * (sum of the band's |FFT|^2). With it a bin-centred
// 1 kHz tone of amplitude 29.54 (40 dB SPL in the Recommendation's calibration) gives 0.988e4 in
// its peak bin, i.e. density units are ~ dB SPL (docs/PESQ.md "Calibration").
constexpr double kDensityCalibration = 100.0;
// Narrowband model level offset (dB) applied after the IRS filter. -12 dB of it normalises the IRS
// table's +12 dB pass band to 0 dB; the remaining -3 dB is fitted to the public python-pesq test
// vector (docs/PESQ.md "Known differences").
constexpr double kNbModelGainDb = -15.0;
constexpr double kBadFrameThreshold = 30.0;
constexpr int kMinBadFrames = 5;

// ---------------------------------------------------------------------------------------------
// FFT (iterative radix-2; sizes here are powers of two)
// ---------------------------------------------------------------------------------------------
size_t next_pow2(size_t n) {
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

void fft(std::vector<cd>& a, bool inverse) {
    const size_t n = a.size();
    for (size_t i = 1, j = 0; i < n; ++i) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        const double ang = 2 * kPi / double(len) * (inverse ? 1 : -1);
        const cd wl(std::cos(ang), std::sin(ang));
        for (size_t i = 0; i < n; i += len) {
            cd w(1);
            for (size_t k = 0; k < len / 2; ++k) {
                const cd u = a[i + k], v = a[i + k + len / 2] * w;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
                w *= wl;
            }
        }
    }
    if (inverse)
        for (auto& x : a) x /= double(n);
}

// ---------------------------------------------------------------------------------------------
// Filters given as piecewise-linear dB-vs-Hz tables, applied to the whole signal in the FFT domain
// ---------------------------------------------------------------------------------------------
using DbTable = std::vector<std::pair<double, double>>;  // (Hz, dB), increasing Hz

// P.862 time-alignment / level-alignment band-pass: speech band 350..3250 Hz.
const DbTable kAlignFilter = {{0, -500}, {300, -500}, {350, 0}, {3250, 0}, {3500, -500}, {8000, -500}};
// P.862 IRS receive characteristic (narrowband mode input filter), breakpoints per metrics.md.
const DbTable kIrsFilter = {{0, -200},  {50, -40},  {100, -20}, {125, -12}, {160, -6},  {200, 0},
                            {250, 4},   {300, 6},   {350, 8},   {400, 10},  {500, 11},  {600, 12},
                            {3250, 12}, {3500, 4},  {4000, -200}, {8000, -200}};

double interp_db(const DbTable& t, double f) {
    if (f <= t.front().first) return t.front().second;
    if (f >= t.back().first) return t.back().second;
    for (size_t i = 1; i < t.size(); ++i) {
        if (f <= t[i].first) {
            const double a = (f - t[i - 1].first) / (t[i].first - t[i - 1].first);
            return t[i - 1].second + a * (t[i].second - t[i - 1].second);
        }
    }
    return t.back().second;
}

std::vector<double> apply_table_filter(const std::vector<double>& x, const DbTable& table, int fs) {
    const size_t n = next_pow2(x.size());
    std::vector<cd> a(n, 0.0);
    for (size_t i = 0; i < x.size(); ++i) a[i] = x[i];
    fft(a, false);
    for (size_t k = 0; k <= n / 2; ++k) {
        const double f = double(k) * fs / double(n);
        const double g = std::pow(10.0, interp_db(table, f) / 20.0);
        a[k] *= g;
        if (k != 0 && k != n / 2) a[n - k] *= g;
    }
    fft(a, true);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = a[i].real();
    return y;
}

// P.862.2 wideband input filter: 100 Hz high-pass biquad {b0, b1, b2, a1, a2}.
std::vector<double> apply_wb_filter(std::vector<double> x, long data_begin, long data_len, int fs) {
    const double c16[5] = {2.740826, -5.4816519, 2.740826, -1.9444777, 0.94597794};
    const double c8[5] = {2.6657628, -5.3315255, 2.6657628, -1.8890331, 0.89487434};
    const double* c = fs == 16000 ? c16 : c8;
    // 16-sample linear fade at both ends of the signal proper, so the filter sees no step.
    const long fade = std::min<long>(16, data_len / 2);
    for (long i = 0; i < fade; ++i) {
        const double g = double(i) / fade;
        x[data_begin + i] *= g;
        x[data_begin + data_len - 1 - i] *= g;
    }
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (auto& v : x) {
        const double y = c[0] * v + c[1] * x1 + c[2] * x2 - c[3] * y1 - c[4] * y2;
        x2 = x1;
        x1 = v;
        y2 = y1;
        y1 = y;
        v = y;
    }
    return x;
}

// ---------------------------------------------------------------------------------------------
// Bark bands, derived (see docs/PESQ.md): Zwicker & Terhardt (1980) critical-band rate, FFT bins
// grouped greedily into nb bands of near-equal Bark width (at least one bin each).
// ---------------------------------------------------------------------------------------------
double hz_to_bark(double f) {
    return 13.0 * std::atan(0.76 * f / 1000.0) + 3.5 * std::atan((f / 7500.0) * (f / 7500.0));
}

double bark_to_hz(double z) {
    double lo = 0, hi = 30000;
    for (int i = 0; i < 100; ++i) {
        const double mid = 0.5 * (lo + hi);
        (hz_to_bark(mid) < z ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

// Threshold in quiet, Terhardt (1979), dB SPL, f in Hz (clamped to the 20 Hz lower end of hearing).
double hearing_threshold_db(double f) {
    const double k = std::max(f, 20.0) / 1000.0;
    return 3.64 * std::pow(k, -0.8) - 6.5 * std::exp(-0.6 * (k - 3.3) * (k - 3.3)) + 1e-3 * std::pow(k, 4);
}

struct Bands {
    int nb = 0;
    std::vector<int> first, count;
    std::vector<double> centre_bark, width_bark, centre_hz, thresh, gamma;
};

Bands make_bands(int fs, int nfft, int nb) {
    const int nbins = nfft / 2 + 1;
    const double df = double(fs) / nfft;
    auto lo_edge = [&](int k) { return std::max(0.0, (k - 0.5) * df); };
    auto hi_edge = [&](int k) { return std::min(fs / 2.0, (k + 0.5) * df); };
    const double top = hz_to_bark(fs / 2.0);
    Bands b;
    b.nb = nb;
    int k0 = 0;
    for (int i = 0; i < nb; ++i) {
        const int remaining = nb - i;
        const double z0 = hz_to_bark(lo_edge(k0));
        int c = nbins - k0 - (remaining - 1);  // last band: everything left
        if (remaining > 1) {
            const double target = (top - z0) / remaining;
            int best = 1;
            double best_err = 1e300;
            for (int cc = 1; k0 + cc <= nbins - (remaining - 1); ++cc) {
                const double err = std::abs(hz_to_bark(hi_edge(k0 + cc - 1)) - z0 - target);
                if (err < best_err) best_err = err, best = cc;
                if (hz_to_bark(hi_edge(k0 + cc - 1)) - z0 > target) break;
            }
            c = best;
        }
        const double z1 = hz_to_bark(hi_edge(k0 + c - 1));
        b.first.push_back(k0);
        b.count.push_back(c);
        b.width_bark.push_back(z1 - z0);
        b.centre_bark.push_back(0.5 * (z0 + z1));
        const double fc = bark_to_hz(0.5 * (z0 + z1));
        b.centre_hz.push_back(fc);
        b.thresh.push_back(std::pow(10.0, hearing_threshold_db(fc) / 10.0));
        // Low-frequency loudness exponent increase below 4 Bark (metrics.md / P.862 description).
        const double zc = 0.5 * (z0 + z1);
        const double h = zc < 4 ? std::min(2.0, 6.0 / (zc + 2.0)) : 1.0;
        b.gamma.push_back(kZwickerPower * std::pow(h, 0.15));
        k0 += c;
    }
    return b;
}

// ---------------------------------------------------------------------------------------------
// Time alignment
// ---------------------------------------------------------------------------------------------
struct Envelope {
    std::vector<double> energy;  // per block mean power
    std::vector<double> logvad;  // log(E/thr) where above threshold, else 0
    double threshold = 0;
};

Envelope envelope(const std::vector<double>& x, int ds) {
    Envelope e;
    const size_t nblocks = x.size() / ds;
    e.energy.resize(nblocks);
    for (size_t k = 0; k < nblocks; ++k) {
        double s = 0;
        for (int i = 0; i < ds; ++i) s += x[k * ds + i] * x[k * ds + i];
        e.energy[k] = s / ds;
    }
    // Threshold: mean energy, then refined towards the noise floor: the mean of the blocks below the
    // current threshold, raised by a factor so that low-level speech is still detected.
    double thr = std::accumulate(e.energy.begin(), e.energy.end(), 0.0) / std::max<size_t>(1, nblocks);
    for (int it = 0; it < 12; ++it) {
        double s = 0;
        size_t n = 0;
        for (double v : e.energy)
            if (v <= thr) s += v, ++n;
        const double next = n ? std::max(s / n * 4.0, thr * 0.1) : thr;
        if (std::abs(next - thr) <= 1e-9 * thr) break;
        thr = std::min(thr, next);
    }
    e.threshold = thr;
    e.logvad.resize(nblocks);
    for (size_t k = 0; k < nblocks; ++k)
        e.logvad[k] = e.energy[k] > thr && thr > 0 ? std::log(e.energy[k] / thr) : 0.0;
    return e;
}

// Lag (in blocks) maximising sum_k a[k] * b[k + lag] over k in [a0, a1), lag in [lmin, lmax].
long best_envelope_lag(const std::vector<double>& a, const std::vector<double>& b, long a0, long a1, long lmin,
                       long lmax) {
    long best = 0;
    double best_v = -1;
    for (long lag = lmin; lag <= lmax; ++lag) {
        double s = 0;
        for (long k = std::max(a0, -lag); k < a1; ++k) {
            const long j = k + lag;
            if (j >= long(b.size())) break;
            s += a[k] * b[j];
        }
        if (s > best_v || (s == best_v && std::abs(lag) < std::abs(best))) best_v = s, best = lag;
    }
    return best;
}

// Fine alignment of one reference span [s0, s1) starting from a crude delay: per frame cross-
// correlation of Hann-windowed frames, each frame votes for its best lag with weight peak^0.125,
// the vote histogram is smoothed with a triangular kernel and its maximum is the delay.
std::pair<long, double> fine_align(const std::vector<double>& r, const std::vector<double>& d, long s0, long s1,
                                   long crude, int nfft, int fs) {
    const int hop = nfft / 2;
    const size_t m = 2 * size_t(nfft);
    std::vector<double> hist(nfft, 0.0);  // lag + nfft/2
    std::vector<double> win(nfft);
    for (int i = 0; i < nfft; ++i) win[i] = 0.5 * (1 - std::cos(2 * kPi * i / nfft));
    int frames = 0;
    for (long t = s0; t + nfft <= s1; t += hop) {
        std::vector<cd> A(m, 0.0), B(m, 0.0);
        double ea = 0, eb = 0;
        for (int i = 0; i < nfft; ++i) {
            const long j = t + i + crude;
            A[i] = r[t + i] * win[i];
            B[i] = (j >= 0 && j < long(d.size())) ? d[j] * win[i] : 0.0;
            ea += std::norm(A[i]);
            eb += std::norm(B[i]);
        }
        if (ea <= 0 || eb <= 0) continue;
        fft(A, false);
        fft(B, false);
        for (size_t k = 0; k < m; ++k) A[k] = std::conj(A[k]) * B[k];
        fft(A, true);  // A[l] = sum_n a[n] b[n + l] (circular over 2*nfft, no wrap for |l| < nfft)
        double best = 0;
        int best_lag = 0;
        for (int lag = -nfft / 2; lag < nfft / 2; ++lag) {
            const double v = A[(lag + long(m)) % m].real();
            if (v > best) best = v, best_lag = lag;
        }
        if (best > 0) {
            hist[best_lag + nfft / 2] += std::pow(best, 0.125);
            ++frames;
        }
    }
    if (frames == 0) return {crude, 0.0};
    const int half = std::max(1, fs / 1000);  // 1 ms triangular smoothing
    std::vector<double> sm(hist.size(), 0.0);
    for (int i = 0; i < int(hist.size()); ++i)
        for (int k = -half; k <= half; ++k) {
            const int j = i + k;
            if (j >= 0 && j < int(hist.size())) sm[i] += hist[j] * (1.0 - std::abs(k) / double(half + 1));
        }
    const int imax = int(std::max_element(sm.begin(), sm.end()) - sm.begin());
    const double total = std::accumulate(sm.begin(), sm.end(), 0.0);
    return {crude + imax - nfft / 2, total > 0 ? sm[imax] / total : 0.0};
}

struct Utt {
    long b0, b1;  // blocks on the padded reference
    long delay;   // samples
    double conf;
};

// Speech segments on the reference envelope, bridged and merged into utterances.
std::vector<Utt> find_utterances(const Envelope& e, long first_block, long last_block) {
    std::vector<std::pair<long, long>> seg;
    long k = first_block;
    while (k < last_block) {
        if (e.energy[k] > e.threshold) {
            long j = k;
            while (j < last_block && e.energy[j] > e.threshold) ++j;
            if (j - k >= kMinSpeechBlocks) {
                if (!seg.empty() && k - seg.back().second < kJoinSpeechBlocks)
                    seg.back().second = j;
                else
                    seg.push_back({k, j});
            }
            k = j;
        } else {
            ++k;
        }
    }
    // Merge utterances shorter than kMinUttBlocks into the nearer neighbour.
    bool changed = true;
    while (changed && seg.size() > 1) {
        changed = false;
        for (size_t i = 0; i < seg.size(); ++i) {
            if (seg[i].second - seg[i].first >= kMinUttBlocks) continue;
            const long gap_prev = i > 0 ? seg[i].first - seg[i - 1].second : LONG_MAX;
            const long gap_next = i + 1 < seg.size() ? seg[i + 1].first - seg[i].second : LONG_MAX;
            if (gap_prev <= gap_next) {
                seg[i - 1].second = seg[i].second;
            } else {
                seg[i + 1].first = seg[i].first;
            }
            seg.erase(seg.begin() + long(i));
            changed = true;
            break;
        }
    }
    std::vector<Utt> u;
    for (auto& s : seg) u.push_back({s.first, s.second, 0, 0});
    return u;
}

// ---------------------------------------------------------------------------------------------
// Perceptual model helpers
// ---------------------------------------------------------------------------------------------
double total_audible(const std::vector<double>& p, const Bands& b, double factor) {
    double s = 0;
    for (int i = 1; i < b.nb; ++i)
        if (p[i] > factor * b.thresh[i]) s += p[i];
    return s;
}

double pseudo_lp(const std::vector<double>& d, const Bands& b, double p) {
    double s = 0, w = 0;
    for (int i = 1; i < b.nb; ++i) {
        s += std::pow(std::abs(d[i]) * b.width_bark[i], p);
        w += b.width_bark[i];
    }
    return std::pow(s / w, 1.0 / p) * w;
}

double lpq(const std::vector<double>& frame, double p_syl, double p_time) {
    const int syl = 20, hop = 10;
    const int n = int(frame.size());
    double acc = 0;
    int count = 0;
    for (int s = 0; s == 0 || s + syl <= n + hop - 1; s += hop) {
        double v = 0;
        int m = 0;
        for (int f = s; f < std::min(n, s + syl); ++f, ++m) v += std::pow(frame[f], p_syl);
        if (m == 0) break;
        acc += std::pow(std::pow(v / m, 1.0 / p_syl), p_time);
        ++count;
        if (s + syl >= n) break;
    }
    return count ? std::pow(acc / count, 1.0 / p_time) : 0.0;
}

struct Spectra {
    std::vector<std::vector<double>> p;  // [frame][band] pitch power density
};

std::vector<double> pitch_density(const std::vector<double>& x, long start, int nf, const std::vector<double>& win,
                                  const Bands& b, double sp) {
    std::vector<cd> a(nf);
    for (int i = 0; i < nf; ++i) {
        const long j = start + i;
        a[i] = (j >= 0 && j < long(x.size())) ? x[j] * win[i] : 0.0;
    }
    fft(a, false);
    std::vector<double> p(b.nb);
    for (int i = 0; i < b.nb; ++i) {
        double s = 0;
        for (int k = b.first[i]; k < b.first[i] + b.count[i]; ++k) s += k == 0 ? 0.0 : std::norm(a[k]);
        p[i] = s * sp * kDensityCalibration;
    }
    return p;
}

std::vector<double> loudness(const std::vector<double>& p, const Bands& b) {
    std::vector<double> l(b.nb, 0.0);
    for (int i = 0; i < b.nb; ++i) {
        const double t = b.thresh[i], g = b.gamma[i];
        if (p[i] > t) l[i] = kSl * std::pow(t / 0.5, g) * (std::pow(0.5 + 0.5 * p[i] / t, g) - 1.0);
    }
    return l;
}

// Symmetric and asymmetric frame disturbance from compensated densities (before level weighting).
std::pair<double, double> frame_disturbance(const std::vector<double>& pr, const std::vector<double>& pd,
                                            const Bands& b) {
    const auto lr = loudness(pr, b), ld = loudness(pd, b);
    std::vector<double> d(b.nb), da(b.nb);
    for (int i = 0; i < b.nb; ++i) {
        double v = ld[i] - lr[i];
        const double m = 0.25 * std::min(ld[i], lr[i]);
        v = v > 0 ? std::max(v - m, 0.0) : std::min(v + m, 0.0);
        d[i] = v;
        double h = std::pow((pd[i] + 50.0) / (pr[i] + 50.0), 1.2);
        if (h > 12) h = 12;
        if (h < 3) h = 0;
        da[i] = v * h;
    }
    return {pseudo_lp(d, b, 2.0), pseudo_lp(da, b, 1.0)};
}

void check_signal(const std::vector<float>& x, const char* name, int fs, long min_len) {
    V2A_CHECK(long(x.size()) >= min_len, Data, "pesq: ", name, " signal has ", x.size(), " samples; at ", fs,
              " Hz at least ", min_len, " are needed (2*75 alignment blocks plus a quarter second)");
    float peak = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        V2A_CHECK(std::isfinite(x[i]), Data, "pesq: ", name, " signal has a non-finite sample at index ", i);
        peak = std::max(peak, std::abs(x[i]));
    }
    V2A_CHECK(peak > 0, Data, "pesq: ", name, " signal is silent (all samples zero)");
}

}  // namespace

double pesq_map_nb(double raw) { return 0.999 + 4.0 / (1.0 + std::exp(-1.4945 * raw + 4.6607)); }
double pesq_map_wb(double raw) { return 0.999 + 4.0 / (1.0 + std::exp(-1.3669 * raw + 3.8224)); }

PesqResult pesq_detailed(const std::vector<float>& ref_in, const std::vector<float>& deg_in, int fs,
                         PesqMode mode) {
    V2A_CHECK(fs == 8000 || fs == 16000, Data, "pesq: sample rate ", fs, " Hz is not supported (8000 or 16000)");
    V2A_CHECK(mode == PesqMode::NB || fs == 16000, Data,
              "pesq: wideband mode (P.862.2) needs 16000 Hz audio, got ", fs, " Hz");
    const int ds = fs == 16000 ? 64 : 32;       // samples per envelope block (4 ms)
    const int nf = 8 * ds;                      // perceptual frame, 32 ms
    const int align_nfft = fs == 16000 ? 1024 : 512;
    const double sp = fs == 16000 ? 6.910853e-6 : 2.764344e-5;
    const int nb = fs == 16000 ? 49 : 42;
    const long sb = long(kSearchBuffer) * ds;
    const long pad = long(kDataPaddingMs) * fs / 1000;
    const long min_len = 2 * sb + fs / 4;
    check_signal(ref_in, "reference", fs, min_len);
    check_signal(deg_in, "degraded", fs, min_len);

    const long nr = long(ref_in.size()), nd = long(deg_in.size());
    const long nmax = std::max(nr, nd);
    auto padded = [&](const std::vector<float>& x) {
        std::vector<double> y(size_t(sb + long(x.size()) + pad + sb), 0.0);
        for (size_t i = 0; i < x.size(); ++i) y[sb + i] = x[i];
        return y;
    };
    std::vector<double> ref = padded(ref_in), deg = padded(deg_in);

    // Level alignment: power of the 350-3250 Hz band over the signal plus padding.
    auto align_level = [&](std::vector<double>& x, long n, const char* name) {
        const auto f = apply_table_filter(x, kAlignFilter, fs);
        double s = 0;
        for (long i = sb; i < sb + n + pad; ++i) s += f[i] * f[i];
        const double power = s / double(nmax + pad);
        V2A_CHECK(power > 0 && std::isfinite(power), Data, "pesq: ", name,
                  " signal has no energy in the 350-3250 Hz speech band");
        const double g = std::sqrt(kTargetPower / power);
        for (auto& v : x) v *= g;
    };
    align_level(ref, nr, "reference");
    align_level(deg, nd, "degraded");

    // Input filter: IRS receive (NB) or 100 Hz high-pass (WB, P.862.2).
    std::vector<double> mref, mdeg;
    if (mode == PesqMode::NB) {
        mref = apply_table_filter(ref, kIrsFilter, fs);
        mdeg = apply_table_filter(deg, kIrsFilter, fs);
        const double g = std::pow(10.0, kNbModelGainDb / 20.0);
        for (auto& v : mref) v *= g;
        for (auto& v : mdeg) v *= g;
    } else {
        mref = apply_wb_filter(ref, sb, nr, fs);
        mdeg = apply_wb_filter(deg, sb, nd, fs);
    }

    // ---- Time alignment on band-passed copies.
    const auto aref = apply_table_filter(mref, kAlignFilter, fs);
    const auto adeg = apply_table_filter(mdeg, kAlignFilter, fs);
    const Envelope eref = envelope(aref, ds), edeg = envelope(adeg, ds);
    const long nbr = long(eref.energy.size()), nbd = long(edeg.energy.size());
    const long crude_blocks = best_envelope_lag(eref.logvad, edeg.logvad, 0, nbr, -(nbr - 1), nbd - 1);

    PesqResult res;
    res.crude_delay = crude_blocks * ds;
    std::vector<Utt> utts = find_utterances(eref, kSearchBuffer, nbr - kSearchBuffer);
    if (utts.empty()) utts.push_back({kSearchBuffer, nbr - kSearchBuffer, 0, 0});
    for (auto& u : utts) {
        const long a0 = std::max(0L, u.b0 - kSearchBuffer), a1 = std::min(nbr, u.b1 + kSearchBuffer);
        const long lag = best_envelope_lag(eref.logvad, edeg.logvad, a0, a1, crude_blocks - kSearchBuffer,
                                           crude_blocks + kSearchBuffer);
        const auto fa = fine_align(aref, adeg, u.b0 * ds, u.b1 * ds, lag * ds, align_nfft, fs);
        u.delay = fa.first;
        u.conf = fa.second;
    }

    // Same length for both model signals (the shorter is zero-padded).
    const size_t len = std::max(mref.size(), mdeg.size());
    mref.resize(len, 0.0);
    mdeg.resize(len, 0.0);

    // ---- Frame range: the span where either level-aligned signal is active (5-sample mean |x| above
    // 500, ~16 dB under the aligned RMS), in reference time.
    auto active = [&](const std::vector<double>& x, long& first, long& last) {
        first = -1;
        last = -1;
        double s = 0;
        for (long i = 0; i < long(x.size()); ++i) {
            s += std::abs(x[i]);
            if (i >= 5) s -= std::abs(x[i - 5]);
            if (i >= 4 && s > 500.0 * 5) {
                if (first < 0) first = i - 4;
                last = i;
            }
        }
    };
    long rf, rl, df, dl;
    active(ref, rf, rl);
    active(deg, df, dl);
    if (rf < 0) rf = sb, rl = sb + nr - 1;
    if (df < 0) df = rf + utts.front().delay, dl = rl + utts.back().delay;
    const long span0 = std::min(rf, df - utts.front().delay);
    const long span1 = std::max(rl, dl - utts.back().delay) + 1;
    const int hop = nf / 2;
    const long f_first = std::max(0L, span0 / hop);
    const long f_last = std::max(f_first, (span1 - nf) / hop + 1);  // inclusive

    const Bands bands = make_bands(fs, nf, nb);
    std::vector<double> win(nf);
    for (int i = 0; i < nf; ++i) win[i] = 0.5 * (1 - std::cos(2 * kPi * i / nf));

    // Delay of a frame: the utterance containing its centre (boundaries halfway between utterances).
    auto frame_delay = [&](long start) {
        const long centre_block = (start + nf / 2) / ds;
        for (size_t i = 0; i < utts.size(); ++i) {
            const long next_b0 = i + 1 < utts.size() ? utts[i + 1].b0 : LONG_MAX;
            const long boundary = i + 1 < utts.size() ? (utts[i].b1 + next_b0) / 2 : LONG_MAX;
            if (centre_block < boundary) return utts[i].delay;
        }
        return utts.back().delay;
    };

    const long nframes = f_last - f_first + 1;
    std::vector<std::vector<double>> pref(nframes), pdeg(nframes);
    std::vector<long> delays(nframes);
    for (long f = 0; f < nframes; ++f) {
        const long start = (f_first + f) * hop;
        delays[f] = frame_delay(start);
        pref[f] = pitch_density(mref, start, nf, win, bands, sp);
        pdeg[f] = pitch_density(mdeg, start + delays[f], nf, win, bands, sp);
    }

    // Frequency compensation of the reference (partial transfer-function equalisation).
    std::vector<double> sum_r(nb, 0.0), sum_d(nb, 0.0);
    long speech_frames = 0;
    std::vector<char> silent(nframes);
    for (long f = 0; f < nframes; ++f) {
        silent[f] = total_audible(pref[f], bands, 100.0) < 1e7;
        if (silent[f]) continue;
        ++speech_frames;
        for (int b = 0; b < nb; ++b) {
            if (pref[f][b] > 100.0 * bands.thresh[b]) sum_r[b] += pref[f][b];
            if (pdeg[f][b] > 100.0 * bands.thresh[b]) sum_d[b] += pdeg[f][b];
        }
    }
    V2A_CHECK(speech_frames > 0, Data, "pesq: no speech found in the reference signal (every frame is silent)");
    std::vector<double> eq(nb);
    for (int b = 0; b < nb; ++b) {
        const double r = (sum_d[b] / speech_frames + 1000.0) / (sum_r[b] / speech_frames + 1000.0);
        eq[b] = std::clamp(r, 0.01, 100.0);
    }

    // Per-frame gain compensation of the degraded signal, then the disturbances.
    std::vector<double> dframe(nframes), aframe(nframes);
    std::vector<std::vector<double>> cref(nframes), cdeg(nframes);
    double prev_scale = 1.0;
    for (long f = 0; f < nframes; ++f) {
        cref[f] = pref[f];
        for (int b = 0; b < nb; ++b) cref[f][b] *= eq[b];
        const double ar = total_audible(cref[f], bands, 1.0), ad = total_audible(pdeg[f], bands, 1.0);
        double scale = (ar + 5e3) / (ad + 5e3);
        if (f > 0) scale = 0.2 * prev_scale + 0.8 * scale;
        scale = std::clamp(scale, 3e-4, 5.0);
        prev_scale = scale;
        cdeg[f] = pdeg[f];
        for (auto& v : cdeg[f]) v *= scale;
    }
    auto level_weight = [&](long f) {
        return std::pow((total_audible(pref[f], bands, 1.0) + 1e5) / 1e7, 0.04);
    };
    for (long f = 0; f < nframes; ++f) {
        const auto da = frame_disturbance(cref[f], cdeg[f], bands);
        const double w = level_weight(f);
        dframe[f] = std::min(da.first / w, 45.0);
        aframe[f] = std::min(da.second / w, 45.0);
    }

    // Bad-interval realignment: for runs of frames with large disturbance, search another delay on
    // the model signals and keep, frame by frame, the smaller disturbance.
    {
        long f = 0;
        while (f < nframes) {
            if (dframe[f] <= kBadFrameThreshold) {
                ++f;
                continue;
            }
            long g = f;
            while (g < nframes && dframe[g] > kBadFrameThreshold) ++g;
            if (g - f >= kMinBadFrames) {
                const long s0 = (f_first + f) * hop, s1 = (f_first + g) * hop + nf;
                const long base = delays[f];
                // Cross-correlate the interval with the degraded signal over +-sb samples.
                const size_t n = s1 - s0;
                const size_t m = next_pow2(n + 2 * sb);
                std::vector<cd> A(m, 0.0), B(m, 0.0);
                for (size_t i = 0; i < n; ++i) A[i] = mref[s0 + i];
                for (size_t i = 0; i < n + 2 * sb; ++i) {
                    const long j = s0 + base - sb + long(i);
                    B[i] = (j >= 0 && j < long(len)) ? mdeg[j] : 0.0;
                }
                fft(A, false);
                fft(B, false);
                for (size_t k = 0; k < m; ++k) A[k] = std::conj(A[k]) * B[k];
                fft(A, true);
                double best = -1e300;
                long best_off = sb;
                for (long o = 0; o <= 2 * sb; ++o)
                    if (A[o].real() > best) best = A[o].real(), best_off = o;
                const long nd2 = base - sb + best_off;
                if (nd2 != base) {
                    for (long k = f; k < g; ++k) {
                        const long start = (f_first + k) * hop;
                        auto pd = pitch_density(mdeg, start + nd2, nf, win, bands, sp);
                        const double ar = total_audible(cref[k], bands, 1.0), ad = total_audible(pd, bands, 1.0);
                        const double sc = std::clamp((ar + 5e3) / (ad + 5e3), 3e-4, 5.0);
                        for (auto& v : pd) v *= sc;
                        const auto da = frame_disturbance(cref[k], pd, bands);
                        const double w = level_weight(k);
                        const double dn = std::min(da.first / w, 45.0), an = std::min(da.second / w, 45.0);
                        if (dn < dframe[k]) {
                            dframe[k] = dn;
                            aframe[k] = an;
                            ++res.realigned_frames;
                        }
                    }
                }
            }
            f = g;
        }
    }

    // Time weighting for long files (> 1000 frames): early frames count less, ramping to full weight.
    if (nframes > 1000) {
        for (long f = 0; f < nframes; ++f) {
            const double w = std::min(1.0, 0.5 + 0.5 * double(f) / 1000.0);
            dframe[f] *= w;
            aframe[f] *= w;
        }
    }

    res.d_ind = lpq(dframe, 6.0, 2.0);
    res.a_ind = lpq(aframe, 6.0, 2.0);
    res.raw = 4.5 - 0.1 * res.d_ind - 0.0309 * res.a_ind;
    res.mos_lqo = mode == PesqMode::NB ? pesq_map_nb(res.raw) : pesq_map_wb(res.raw);
    res.frames = int(nframes);
    for (auto& u : utts) res.utterances.push_back({u.b0 * ds - sb, u.b1 * ds - sb, u.delay, u.conf});
    return res;
}

double pesq(const std::vector<float>& ref, const std::vector<float>& deg, int sample_rate, PesqMode mode) {
    return pesq_detailed(ref, deg, sample_rate, mode).mos_lqo;
}

}  // namespace v2a::metrics
