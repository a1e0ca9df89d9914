#!/usr/bin/python3
"""Writes the reference values the C++ metric tests compare against (tests/metrics/*).

Run with Debian's python3 (apt-get install python3-numpy python3-scipy):
    /usr/bin/python3 tests/data/metrics/make_fd_fixtures.py
Outputs (JSON, next to this script):
  fd_fixtures.json  feature sets + Frechet distances computed the av-benchmark way
                    (np.cov rowvar=False, scipy.linalg.sqrtm, +1e-6*I retry when non-finite,
                    complex -> real when the diagonal imaginary part is < 1e-3).
  is_fixtures.json  numpy RandomState(2020).permutation(n) for several n, and Inception scores
                    computed the av-benchmark way (softmax, 10 splits, population std).
The formulas are written here from the definitions in shared/reference/metrics.md.
"""
import json
import os
import sys

import numpy as np
import scipy
import scipy.linalg

HERE = os.path.dirname(os.path.abspath(__file__))


def frechet_reference(x1, x2, eps=1e-6):
    mu1, mu2 = x1.mean(axis=0), x2.mean(axis=0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    s1, s2 = np.atleast_2d(s1), np.atleast_2d(s2)
    diff = mu1 - mu2
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    used_eps = False
    if not np.isfinite(covmean).all():
        used_eps = True
        offset = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("imaginary component %g" % np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    fd = diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    return float(fd), used_eps


def frechet_with_offset(x1, x2, eps=1e-6):
    """The value scipy's fallback branch computes: sqrtm((S1 + eps I)(S2 + eps I))."""
    s1, s2 = np.atleast_2d(np.cov(x1, rowvar=False)), np.atleast_2d(np.cov(x2, rowvar=False))
    diff = x1.mean(axis=0) - x2.mean(axis=0)
    offset = np.eye(s1.shape[0]) * eps
    covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fd_case(name, x1, x2, note):
    fd, used_eps = frechet_reference(x1, x2)
    return {
        "fd_with_eps_offset": frechet_with_offset(x1, x2),
        "name": name,
        "note": note,
        "a": x1.tolist(),
        "b": x2.tolist(),
        "fd": fd,
        "scipy_used_eps": used_eps,
    }


def inception_reference(logits, splits=10, shuffle=True, seed=2020):
    x = np.asarray(logits, dtype=np.float64)
    if shuffle:
        x = x[np.random.RandomState(seed).permutation(x.shape[0])]
    x = x - x.max(axis=1, keepdims=True)
    p = np.exp(x)
    p = p / p.sum(axis=1, keepdims=True)
    n = p.shape[0]
    scores = []
    for k in range(splits):
        part = p[k * n // splits:(k + 1) * n // splits]
        q = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part) - np.log(q))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def main():
    rng = np.random.RandomState(1234)
    cases = []

    # Full rank, N >> D, different means and correlated covariances.
    d = 8
    l1 = rng.randn(d, d) * 0.5
    l2 = rng.randn(d, d) * 0.7 + np.eye(d)
    a = rng.randn(300, d).dot(l1) + rng.randn(d)
    b = rng.randn(250, d).dot(l2) + 0.5 * rng.randn(d)
    cases.append(fd_case("full_rank_d8", a, b, "N=300/250, D=8, well conditioned"))

    # Same distribution, different draws: small FD.
    a = rng.randn(400, 5)
    b = rng.randn(400, 5)
    cases.append(fd_case("same_dist_d5", a, b, "N=400, D=5, both standard normal"))

    # Rank deficient: N < D, covariances of rank N-1.
    a = rng.randn(12, 20) * 2.0
    b = rng.randn(15, 20) + 1.0
    cases.append(fd_case("rank_deficient_n12_d20", a, b, "N=12/15 < D=20"))

    # Exactly singular: two constant columns in both sets (exact zero rows/columns in the covariances).
    a = rng.randn(50, 6)
    b = rng.randn(60, 6) * 1.5 + 0.3
    a[:, 2] = 1.0
    a[:, 4] = -2.0
    b[:, 2] = 1.0
    b[:, 4] = 0.5
    cases.append(fd_case("constant_columns_d6", a, b, "two constant features in both sets"))

    # One-dimensional features: FD = (mu1-mu2)^2 + (s1-s2)^2.
    a = rng.randn(40, 1) * 2.0 + 1.0
    b = rng.randn(30, 1) * 0.5
    cases.append(fd_case("one_dim", a, b, "D=1"))

    out = {
        "generator": "tests/data/metrics/make_fd_fixtures.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "cases": cases,
    }
    with open(os.path.join(HERE, "fd_fixtures.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")

    # numpy legacy RandomState permutations (MT19937 + masked rejection Fisher-Yates).
    perms = {str(n): np.random.RandomState(2020).permutation(n).tolist() for n in (1, 2, 10, 37, 1000)}
    perms_seed = {str(s): np.random.RandomState(s).permutation(20).tolist() for s in (0, 1, 4294967295)}
    is_cases = []
    for n, c, scale in ((37, 5, 2.0), (100, 11, 3.0), (23, 3, 1.0)):
        logits = rng.randn(n, c) * scale
        mean, std = inception_reference(logits)
        mean_ns, std_ns = inception_reference(logits, shuffle=False)
        is_cases.append({"logits": logits.tolist(), "mean": mean, "std": std,
                         "mean_no_shuffle": mean_ns, "std_no_shuffle": std_ns})
    out = {
        "generator": "tests/data/metrics/make_fd_fixtures.py",
        "numpy": np.__version__,
        "permutation_seed2020": perms,
        "permutation_n20": perms_seed,
        "inception": is_cases,
    }
    with open(os.path.join(HERE, "is_fixtures.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for c in cases:
        print(c["name"], repr(c["fd"]), "eps" if c["scipy_used_eps"] else "")
    for c in is_cases:
        print("IS", c["mean"], c["std"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
