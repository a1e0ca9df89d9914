"""Tests of bench/dpo_diagnostics.py on fake runs.  python3 -m unittest bench/test_dpo_diagnostics.py"""
import importlib.util
import json
import pathlib
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("dpo_diagnostics", HERE / "dpo_diagnostics.py")
dd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dd)


def update(step, gf, acc, w=(1.1, 1.0), l=(2.0, 2.0), beta=2000.0):
    return {"kind": "train", "step": step, "gradient_factor": gf, "implicit_acc": acc, "negative_share": 1 - acc,
            "beta": beta, "model_w_err": w[0], "ref_w_err": w[1], "model_l_err": l[0], "ref_l_err": l[1]}


def write_run(d, updates, result):
    d.mkdir(parents=True)
    lines = [{"kind": "val", "step": 0, "heldout_flow_loss": 1.0}] + updates
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (d / "result.json").write_text(json.dumps(result))


class Diagnostics(unittest.TestCase):
    def test_offline_run_by_hand(self):
        with tempfile.TemporaryDirectory() as t:
            run = pathlib.Path(t) / "gtvs_s0"
            write_run(run, [update(1, 0.5, 0.0), update(2, 0.04, 1.0), update(3, 0.01, 1.0, w=(0.9, 1.0))],
                      {"heldout_drift": -0.02, "exported_step": 3, "steps_trained": 3, "stopped_early": False})
            r = dd.diagnose(run)
            self.assertEqual(r["updates"], 3)
            self.assertAlmostEqual(r["gradient_factor"], (0.5 + 0.04 + 0.01) / 3)
            self.assertAlmostEqual(r["saturated_share"], 2 / 3)
            self.assertAlmostEqual(r["implicit_acc"], 2 / 3)
            self.assertAlmostEqual(r["winner_err_change"], (0.1 + 0.1 - 0.1) / 3)
            self.assertAlmostEqual(r["loser_err_change"], 0.0)
            self.assertEqual(r["exported_step"], 3)

    def test_online_rounds_are_read_in_order_and_non_dpo_folders_skipped(self):
        with tempfile.TemporaryDirectory() as t:
            out = pathlib.Path(t)
            run = out / "gtvs_online_s0"
            write_run(run / "round_0" / "dpo", [update(1, 0.3, 0.5)], {"exported_step": 1})
            write_run(run / "round_1" / "dpo", [update(1, 0.1, 1.0), update(2, 0.02, 1.0)], {"exported_step": 2})
            (run / "result.json").write_text(json.dumps({"heldout_drift": 0.01, "rounds_run": 2, "rounds": [
                {"exported_step": 1, "stopped_early": False}, {"exported_step": 2, "stopped_early": True}]}))
            (out / "eval").mkdir()
            r = dd.diagnose(run)
            self.assertEqual(r["updates"], 3)
            self.assertAlmostEqual(r["gradient_factor"], (0.3 + 0.1 + 0.02) / 3)
            self.assertEqual(r["exported_step"], [1, 2])
            self.assertTrue(r["stopped_early"])
            self.assertIsNone(dd.diagnose(out / "eval"))
            p = subprocess.run([sys.executable, str(HERE / "dpo_diagnostics.py"), str(out), "--json",
                                str(out / "d.json")], capture_output=True, text=True, check=True)
            self.assertIn("gtvs_online_s0", p.stdout)
            self.assertEqual([row["run"] for row in json.loads((out / "d.json").read_text())], ["gtvs_online_s0"])

    def test_missing_folder_is_a_clear_error(self):
        p = subprocess.run([sys.executable, str(HERE / "dpo_diagnostics.py"), "/nonexistent/x"],
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not a folder", p.stderr)


if __name__ == "__main__":
    unittest.main()
