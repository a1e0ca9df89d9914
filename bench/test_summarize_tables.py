"""Tests of bench/summarize_tables.py on a fake OUT folder.  python3 -m unittest bench/test_summarize_tables.py"""
import importlib.util
import io
import json
import math
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

HERE = pathlib.Path(__file__).resolve().parent
SCRIPT = HERE / "summarize_tables.py"
spec = importlib.util.spec_from_file_location("summarize_tables", SCRIPT)
st = importlib.util.module_from_spec(spec)
spec.loader.exec_module(st)

CLIPS = [f"clip{i:02d}" for i in range(12)]
METRIC_NAMES = set(st.KEYS)


def base_clip(i, rng):
    return {"ib_score": 20 + i + rng.random(), "clap": 0.2 + 0.01 * i, "onset_f1": 0.3 + 0.02 * i,
            "av_align": 0.4 + 0.01 * rng.random(), "desync_offsets": [0.1 * i, -0.2],
            "sim_quality": 0.4 + 0.03 * i, "sim_good": i % 2}


def write_eval(out, name, per_clip, metrics):
    (out / "eval" / f"{name}.json").write_text(json.dumps({"metrics": metrics, "per_clip": per_clip}))


def write_val(out, run, key, value, **more):
    (out / run).mkdir(exist_ok=True)
    recs = [{"kind": "val", "step": 1, key: 9.0}, {"kind": "train", "step": 2, "loss": 7.0},
            dict({"kind": "val", "step": 2, key: value}, **more)]
    (out / run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))


class SummarizeTables(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        out = cls.out = pathlib.Path(cls.tmp.name)
        (out / "eval").mkdir()
        rng = random.Random(3)
        base = {c: base_clip(i, rng) for i, c in enumerate(CLIPS)}
        set_metrics = {"fd_cnn": 50.0, "kl_cnn": 1.0, "is_cnn": 2.0, "sim_quality": 0.5, "sim_good_rate": 0.5}
        write_eval(out, "sft", base, set_metrics)
        # A system identical to the base (3 seeds, each the base's values).
        for s in range(3):
            write_eval(out, f"same_s{s}", base, set_metrics)
            # result.json's heldout_loss (the exported model) wins over the last validation record.
            write_val(out, f"same_s{s}", "heldout_flow_loss", 0.9)
            result = {"heldout_loss_init": 0.42, "heldout_loss": 0.7}
            (out / f"same_s{s}" / "result.json").write_text(json.dumps(result))
        # A system +1 on onset_f1 on every clip, with three known FD values.
        cls.fd = [10.0, 12.0, 17.0]
        for s, fd in enumerate(cls.fd):
            shifted = {c: dict(v, onset_f1=v["onset_f1"] + 1.0) for c, v in base.items()}
            write_eval(out, f"plus_s{s}", shifted, dict(set_metrics, fd_cnn=fd))
            write_val(out, f"plus_s{s}", "heldout_flow_loss", 0.5 + 0.1 * s)
            (out / f"plus_s{s}" / "result.json").write_text(json.dumps({"heldout_loss_init": 0.42}))
        for s in range(2):
            write_eval(out, f"sft_more_s{s}", {c: dict(v, ib_score=v["ib_score"] + 0.5) for c, v in base.items()},
                       dict(set_metrics, fd_cnn=40.0 + s))
            write_val(out, f"sft_more_s{s}", "loss", 0.46, loss_ema=0.45)  # loss_ema (exported EMA) wins
        # Table 2 row, from an old eval file without sim_* values; a dangling alias.
        old = {c: {k: v for k, v in d.items() if not k.startswith("sim_")} for c, d in base.items()}
        write_eval(out, "t2_beta500_s0", old, {"fd_cnn": 60.0, "kl_cnn": 1.1, "is_cnn": 2.1})
        os.symlink("missing_s0.json", out / "eval" / "t2_alias.json")
        res = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        cls.stdout = res.stdout
        cls.t1 = {r["system"]: r for r in json.loads((out / "dpo_table1.json").read_text())}
        cls.t2 = {r["system"]: r for r in json.loads((out / "dpo_table2.json").read_text())}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_schema(self):
        self.assertEqual(set(self.t1), {"sft", "same", "plus", "sft_more"})
        self.assertEqual(list(self.t2), ["sft", "sft_more", "t2_beta500"])
        for row in list(self.t1.values()) + list(self.t2.values()):
            self.assertEqual(set(row), {"system", "seeds", "runs", "metrics", "vs_base", "vs_more_sft"})
            self.assertIsInstance(row["seeds"], list)
            self.assertTrue(set(row["metrics"]) <= METRIC_NAMES)
            for v in row["metrics"].values():
                self.assertEqual(set(v), {"mean", "lo", "hi"})
            for field in ("vs_base", "vs_more_sft"):
                for v in row[field].values():
                    self.assertEqual(set(v), {"delta", "lo", "hi"})
        self.assertEqual(self.t1["sft"]["seeds"], [])
        self.assertEqual(self.t1["sft"]["runs"], 1)
        self.assertEqual(self.t1["plus"]["seeds"], [0, 1, 2])
        self.assertEqual(self.t1["sft"]["vs_base"], {})
        self.assertEqual(self.t1["sft_more"]["vs_more_sft"], {})
        self.assertNotEqual(self.t1["sft"]["vs_more_sft"], {})
        self.assertEqual(self.t2["t2_beta500"]["runs"], 1)  # the dangling alias is skipped
        self.assertNotIn("sim_quality", self.t2["t2_beta500"]["metrics"])  # old eval file: no sim_*
        self.assertIn("sim_good_rate", self.t1["plus"]["metrics"])
        self.assertEqual(set(self.t1["plus"]["metrics"]), METRIC_NAMES)
        self.assertIn("SIMULATED annotator", self.stdout)

    def test_identical_to_base(self):
        for k, v in self.t1["same"]["vs_base"].items():
            if k in st.PER_CLIP:
                self.assertEqual((v["delta"], v["lo"], v["hi"]), (0.0, 0.0, 0.0), k)
        self.assertEqual(self.t1["same"]["vs_base"]["onset_f1"], {"delta": 0.0, "lo": 0.0, "hi": 0.0})

    def test_shift_on_onset_f1(self):
        v = self.t1["plus"]["vs_base"]["onset_f1"]
        self.assertAlmostEqual(v["delta"], 1.0, places=9)
        self.assertGreater(v["lo"], 0.0)
        self.assertAlmostEqual(v["lo"], 1.0, places=9)
        self.assertAlmostEqual(v["hi"], 1.0, places=9)
        self.assertAlmostEqual(self.t1["plus"]["vs_base"]["ib_score"]["delta"], 0.0, places=9)
        self.assertRegex(self.stdout, r"\+1 \[\+1, \+1\] \*")

    def test_t_interval(self):
        # fd_cnn of 'plus': 10, 12, 17 -> mean 13, sd sqrt(13), t(0.975, 2) = 0.95 sqrt(2 / (4 * 0.975 * 0.025)).
        t2 = 0.95 * math.sqrt(2 / (4 * 0.975 * 0.025))  # closed form for 2 degrees of freedom: 4.30265...
        h = t2 * math.sqrt(13) / math.sqrt(3)
        fd = self.t1["plus"]["metrics"]["fd_cnn"]
        self.assertAlmostEqual(fd["mean"], 13.0, places=9)
        self.assertAlmostEqual(fd["lo"], 13.0 - h, places=7)
        self.assertAlmostEqual(fd["hi"], 13.0 + h, places=7)
        self.assertAlmostEqual(h, 8.956686, places=5)
        m, lo, hi = st.t_interval(self.fd)
        self.assertAlmostEqual(hi - m, h, places=7)
        # vs the single-run base: that side's t-interval shifted.
        d = self.t1["plus"]["vs_base"]["fd_cnn"]
        self.assertAlmostEqual(d["delta"], -37.0, places=9)
        self.assertAlmostEqual(d["hi"] - d["delta"], h, places=7)
        # Welch vs sft_more (40, 41): df = (13/3 + 0.5/2)^2 / ((13/3)^2/2 + (0.5/2)^2/1)
        va, vb = 13 / 3, 0.5 / 2
        df = (va + vb) ** 2 / (va * va / 2 + vb * vb / 1)
        w = self.t1["plus"]["vs_more_sft"]["fd_cnn"]
        self.assertAlmostEqual(w["delta"], 13.0 - 40.5, places=9)
        self.assertAlmostEqual(w["hi"] - w["delta"], st.t_quantile(0.975, df) * math.sqrt(va + vb), places=7)
        self.assertIsNone(self.t1["sft"]["metrics"]["fd_cnn"]["lo"])  # one run: no interval

    def test_t_quantile(self):
        self.assertAlmostEqual(st.t_quantile(0.975, 1), math.tan(math.pi * 0.475), places=7)
        self.assertAlmostEqual(st.t_quantile(0.975, 4), 2.776445105, places=7)
        self.assertAlmostEqual(st.t_quantile(0.975, 30), 2.042272456, places=7)

    def test_heldout(self):
        self.assertAlmostEqual(self.t1["sft"]["metrics"]["heldout_fm"]["mean"], 0.42)  # heldout_loss_init
        self.assertAlmostEqual(self.t1["plus"]["metrics"]["heldout_fm"]["mean"], 0.6)
        self.assertAlmostEqual(self.t1["sft_more"]["metrics"]["heldout_fm"]["mean"], 0.45)
        self.assertAlmostEqual(self.t1["same"]["metrics"]["heldout_fm"]["mean"], 0.7)

    def test_base_heldout_from_sft_metrics(self):
        with tempfile.TemporaryDirectory() as d:
            out = pathlib.Path(d)
            (out / "eval").mkdir()
            write_eval(out, "sft", {c: base_clip(i, random.Random(i)) for i, c in enumerate(CLIPS)}, {})
            write_val(out, "sft", "loss", 0.41)
            (out / "dpo_s0").mkdir()
            (out / "dpo_s0" / "result.json").write_text(json.dumps({"heldout_loss_init": 0.42}))
            with redirect_stderr(io.StringIO()) as err:
                systems = st.load_runs(out)
            self.assertEqual(systems["sft"][0]["heldout_fm"], 0.41)  # OUT/sft/metrics.jsonl is preferred
            self.assertIn("base held-out FM", err.getvalue())

    def test_bootstrap_by_hand(self):
        # The script's paired bootstrap = resample the clips with random.Random(0).choices, 1000 times.
        rng = random.Random(0)
        d = [0.5] * 6 + [1.5] * 6
        means = sorted(sum(d[i] for i in rng.choices(range(12), k=12)) / 12 for _ in range(1000))
        lo, hi = st.bootstrap_interval(d)
        self.assertAlmostEqual(lo, means[25])
        self.assertAlmostEqual(hi, means[975])


class WinnersOnlyControl(unittest.TestCase):
    """With the sft_winners control present, other rows get vs_sft_winners (what the preference term adds)."""

    def test_vs_sft_winners(self):
        with tempfile.TemporaryDirectory() as t:
            out = pathlib.Path(t)
            (out / "eval").mkdir()
            rng = random.Random(5)
            base = {c: base_clip(i, rng) for i, c in enumerate(CLIPS)}
            sets = {"fd_cnn": 50.0, "kl_cnn": 1.0, "is_cnn": 2.0}
            write_eval(out, "sft", base, sets)
            write_eval(out, "sft_more_s0", base, sets)
            winners = {c: dict(v, onset_f1=v["onset_f1"] + 0.25) for c, v in base.items()}
            write_eval(out, "sft_winners_s0", winners, sets)
            write_eval(out, "gtvs_s0", {c: dict(v, onset_f1=v["onset_f1"] + 0.75) for c, v in base.items()}, sets)
            res = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True)
            self.assertEqual(res.returncode, 0, res.stderr)
            t1 = {r["system"]: r for r in json.loads((out / "dpo_table1.json").read_text())}
            self.assertAlmostEqual(t1["gtvs"]["vs_sft_winners"]["onset_f1"]["delta"], 0.5, places=9)
            self.assertAlmostEqual(t1["gtvs"]["vs_base"]["onset_f1"]["delta"], 0.75, places=9)
            for name in ("sft", "sft_more", "sft_winners"):
                self.assertNotIn("vs_sft_winners", t1[name], name)
            self.assertIn("SFT on the winner rows only", res.stdout)


if __name__ == "__main__":
    unittest.main()
