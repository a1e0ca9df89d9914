#!/usr/bin/python3
"""Reference values for the librosa-compatible onset code (src/v2a/metrics/onset.*).

librosa itself is not installable here (no PyPI), so this is an independent NumPy transcription
of the librosa >= 0.10 code path used by AV-Align, written from the definitions in
shared/reference/metrics.md §7 (filters.mel slaney/htk=False, stft centre with zero padding,
power_to_db top_db=80, onset_strength_multi lag=1 max_size=1, util.peak_pick greedy, onset_detect
defaults). It uses np.fft.rfft on explicit frames, not torch.stft, so it cross-checks the C++ path.
Run: /usr/bin/python3 tests/data/metrics/make_onset_fixtures.py  -> onset_fixtures.json
"""
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
F_SP = 200.0 / 3
MIN_LOG_HZ = 1000.0
MIN_LOG_MEL = MIN_LOG_HZ / F_SP
LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    mels = f / F_SP
    return np.where(f >= MIN_LOG_HZ, MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / MIN_LOG_HZ) / LOGSTEP, mels)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    return np.where(m >= MIN_LOG_MEL, MIN_LOG_HZ * np.exp(LOGSTEP * (m - MIN_LOG_MEL)), F_SP * m)


def mel_filters(sr, n_fft, n_mels, fmin=0.0, fmax=None):
    fmax = sr / 2.0 if fmax is None else fmax
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    return weights * enorm[:, None]


def onset_strength(y, sr=22050, n_fft=2048, hop=512, n_mels=128, lag=1):
    padded = np.pad(y, n_fft // 2, mode="constant")
    n_frames = 1 + (len(padded) - n_fft) // hop
    n = np.arange(n_fft)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # periodic Hann
    frames = np.stack([padded[t * hop:t * hop + n_fft] * window for t in range(n_frames)], axis=1)
    power = np.abs(np.fft.rfft(frames, axis=0)) ** 2
    mel = mel_filters(sr, n_fft, n_mels).dot(power)
    db = 10.0 * np.log10(np.maximum(1e-10, mel))
    db = np.maximum(db, db.max() - 80.0)
    env = np.maximum(0.0, db[:, lag:] - db[:, :-lag]).mean(axis=0)
    env = np.pad(env, (lag + n_fft // (2 * hop), 0))[:db.shape[1]]
    return env


def peak_pick(x, pre_max, post_max, pre_avg, post_avg, delta, wait):
    peaks = []
    n_total = len(x)
    if x[0] >= np.max(x[:min(post_max, n_total)]) and x[0] >= np.mean(x[:min(post_avg, n_total)]) + delta:
        peaks.append(0)
        n = wait + 1
    else:
        n = 1
    while n < n_total:
        if x[n] != np.max(x[max(0, n - pre_max):min(n + post_max, n_total)]):
            n += 1
            continue
        if x[n] < np.mean(x[max(0, n - pre_avg):min(n + post_avg, n_total)]) + delta:
            n += 1
            continue
        peaks.append(n)
        n += wait + 1
    return peaks


def onset_detect(env, sr=22050, hop=512):
    env = env - env.min()
    env = env / (env.max() + np.finfo(np.float64).tiny)
    p = dict(pre_max=int(0.03 * sr // hop), post_max=int(0.0 * sr // hop + 1), pre_avg=int(0.10 * sr // hop),
             post_avg=int(0.10 * sr // hop + 1), wait=int(0.03 * sr // hop), delta=0.07)
    return peak_pick(env, **p)


def burst_signal(sr, seconds, bursts):
    """Decaying tone bursts; the C++ test builds the same signal from the same formula."""
    t = np.arange(int(round(sr * seconds))) / sr
    y = np.zeros_like(t)
    for t0, freq, amp in bursts:
        on = t >= t0
        y[on] += amp * np.exp(-(t[on] - t0) * 25.0) * np.sin(2 * np.pi * freq * (t[on] - t0))
    return y


def main():
    sr = 22050
    bursts = [[0.25, 440.0, 0.8], [0.62, 880.0, 0.5], [1.10, 330.0, 0.9], [1.45, 1500.0, 0.4]]
    y = burst_signal(sr, 2.0, bursts)
    env = onset_strength(y, sr)
    frames = onset_detect(env, sr)
    small = mel_filters(8000, 64, 10)
    full = mel_filters(22050, 2048, 128)
    out = {
        "generator": "tests/data/metrics/make_onset_fixtures.py",
        "numpy": np.__version__,
        "hz_to_mel": {str(f): float(hz_to_mel(f)) for f in (0.0, 500.0, 1000.0, 2000.0, 11025.0)},
        "mel_small": {"sr": 8000, "n_fft": 64, "n_mels": 10, "weights": small.tolist()},
        "mel_default_rows": {str(r): full[r].tolist() for r in (0, 1, 40, 127)},
        "mel_default_sum": float(full.sum()),
        "burst": {"sr": sr, "seconds": 2.0, "bursts": bursts, "envelope": env.tolist(), "onset_frames": frames,
                  "onset_times": [f * 512 / sr for f in frames]},
        "peak_pick": {
            "x": [0.0, 0.5, 0.1, 0.1, 0.9, 0.9, 0.2, 0.0, 0.3, 0.31, 0.0, 1.0],
            "params": [1, 1, 4, 5, 0.07, 1],
        },
    }
    pp = out["peak_pick"]
    pp["peaks"] = peak_pick(np.array(pp["x"]), *pp["params"])
    with open(os.path.join(HERE, "onset_fixtures.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("onset frames", frames, "times", out["burst"]["onset_times"], "peaks", pp["peaks"])


if __name__ == "__main__":
    main()
