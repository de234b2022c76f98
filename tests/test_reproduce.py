"""bin/reproduce's experiments end to end on the tiny preset: figures, claim rows, report,
and redrawing without retraining."""

import json
import os
import pathlib
import re
import tempfile
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from sensitivity_tf.train import train_run
from sensitivity_tf.commands import cli
from sensitivity_tf.commands import config_files
from sensitivity_tf.reproduce import claims
from sensitivity_tf.reproduce import reproduction
from sensitivity_tf.reproduce import export
from sensitivity_tf.reproduce.experiments import EXPERIMENTS as ALL_EXPERIMENTS
from sensitivity_tf.reproduce.workspace import Workspace
from conftest import assert_one_line_error, run_bin

# The paper's experiments; the fidelity study has its own end-to-end test (test_fidelity.py).
EXPERIMENTS = {k: v for k, v in ALL_EXPERIMENTS.items() if k != "fidelity"}


class ExperimentsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.TemporaryDirectory()
    cls.ws = Workspace(cls.tmp.name, "tiny", progress=False, log=lambda *_: None)
    cls.first = {name: reproduction.run_experiment(
        name, config_files.experiment_config(name, "tiny"), cls.ws) for name in EXPERIMENTS}

  @classmethod
  def tearDownClass(cls):
    cls.tmp.cleanup()
    super().tearDownClass()

  def test_each_experiment_writes_figures_and_claim_rows(self):
    root = pathlib.Path(self.tmp.name)
    for name, module in EXPERIMENTS.items():
      pngs = list((root / "figures").glob(f"{name}*.png"))
      self.assertNotEmpty(pngs, name)
      for png in pngs:
        self.assertTrue(png.with_suffix(".pdf").is_file())
        self.assertGreater(png.stat().st_size, 5000)
      rows = json.loads((root / "claims" / f"{name}.json").read_text())
      self.assertEqual({r["claim"] for r in rows}, set(module.CLAIMS), name)
      for r in rows:
        self.assertIn(r["verdict"], (claims.HOLDS, claims.FAILS, claims.NO_DATA))
        self.assertEqual(r["rule"], claims.RULES[r["claim"]])
    report = (root / "claims.md").read_text()
    for claim in claims.STATEMENTS:
      self.assertIn(f"## {claim}: ", report)
    self.assertIn("granulated Kendall Ψ", report)
    self.assertIn("Ψ refused: not a complete grid", report)  # on the random survey
    # Strict JSON: a NaN statistic (e.g. a correlation on too few networks) is null, never
    # the bare NaN that strict parsers refuse.
    def refuse(constant):
      raise ValueError(f"non-strict JSON constant {constant}")
    data = json.loads((root / "claims.json").read_text(), parse_constant=refuse)
    self.assertEqual(len(data["claims"]), sum(len(json.loads(p.read_text())) for p in
                                              (root / "claims").glob("*.json")
                                              if not p.name.endswith("_extra.json")))

  def test_redrawing_never_trains(self):
    root = pathlib.Path(self.tmp.name)
    before = {p.name: p.stat().st_mtime_ns for p in (root / "figures").glob("*.png")}
    calls = []
    real = train_run.train_model

    def counting(*args, **kwargs):
      metrics, model = real(*args, **kwargs)
      calls.append(model is not None)  # a model comes back only when it was trained
      return metrics, model

    with mock.patch.object(train_run, "train_model", counting):
      for name in EXPERIMENTS:
        again = reproduction.run_experiment(
            name, config_files.experiment_config(name, "tiny"), self.ws)
        self.assertEqual([r.verdict for r in again["results"]],
                         [r.verdict for r in self.first[name]["results"]])
    self.assertFalse(any(calls), f"{sum(calls)} networks were retrained")
    after = {p.name: p.stat().st_mtime_ns for p in (root / "figures").glob("*.png")}
    self.assertEqual(set(after), set(before))
    self.assertTrue(all(after[k] > before[k] for k in before))  # redrawn


class DatasetScopeTest(tf.test.TestCase):
  """--dataset rewrites an experiment's claims from the datasets it ran: the log says which
  datasets' rows left the report, and how to bring them back."""

  def test_a_run_on_fewer_datasets_says_which_rows_it_replaced(self):
    def row(dataset):
      return claims.ClaimResult("C1", dataset, "s", {}, 30, "networks", claims.HOLDS,
                                "capacity")

    def fake_run(datasets):
      module = mock.Mock(run=lambda cfg, ws: (
          [row(d) for d in datasets] + [row(f"{d} (true labels only)") for d in datasets],
          []))
      return mock.patch.dict(reproduction.EXPERIMENTS, {"capacity": module})

    with tempfile.TemporaryDirectory() as d:
      logged = []
      ws = Workspace(d, "tiny", progress=False, log=logged.append)
      with fake_run(["fashion_mnist", "cifar10"]):
        reproduction.run_experiment("capacity", None, ws)
      self.assertEqual(reproduction.claimed_datasets(ws.path("claims", "capacity.json")),
                       ["cifar10", "fashion_mnist"])
      self.assertEqual(logged, [])  # a first run replaces nothing
      with fake_run(["cifar10"]):
        reproduction.run_experiment("capacity", None, ws)
      self.assertEqual(logged, [
          "note: capacity's claims now rest on cifar10 only; its earlier rows on "
          "fashion_mnist are no longer in claims.md (nothing trained is lost: "
          "--experiment=capacity --dataset=cifar10,fashion_mnist re-analyses them all)"])
      report = pathlib.Path(d, "claims.md").read_text()
      self.assertNotIn("fashion_mnist", report.split("## C1:")[1])
      with fake_run(["cifar10", "mnist"]):  # adds a dataset, drops none
        reproduction.run_experiment("capacity", None, ws)
      self.assertLen(logged, 1)
    self.assertEqual(reproduction.claimed_datasets(pathlib.Path(d, "absent.json")), [])


class ExportTest(tf.test.TestCase):
  """--docs_dir mirrors the workspace: figures, the report, claims.json, survey tables as CSV."""

  def test_export_mirrors_figures_claims_and_tables(self):
    with tempfile.TemporaryDirectory() as d:
      root, docs = pathlib.Path(d, "ws"), pathlib.Path(d, "docs")
      (root / "figures").mkdir(parents=True)
      (root / "figures" / "capacity_mnist.png").write_bytes(b"png")
      (root / "figures" / "capacity_mnist.pdf").write_bytes(b"pdf")
      (root / "claims.md").write_text("# report\n")
      (root / "claims.json").write_text('{"claims": []}')
      table = root / "mnist" / "studies" / "default-abc" / "table"
      table.mkdir(parents=True)
      rows = pd.DataFrame(dict(trial_key=["b", "a"], trial_index=[1, 0], gap=[0.5, float("nan")],
                               run_dir=["runs/b", "runs/a"]))
      rows.iloc[:1].to_parquet(table / "b.parquet")
      rows.iloc[1:].to_parquet(table / "a.parquet")
      analysis = root / "mnist" / "tables"   # an experiment's own tables: CSVs published
      analysis.mkdir()
      pd.DataFrame(dict(kind=["random"], dip_ratio=[0.4])).to_csv(
          analysis / "trajectories_per_ellipse.csv", index=False)
      (analysis / "regions_x.npz").write_bytes(b"npz")        # cached images: not published
      docs.mkdir()
      (docs / "stale_figure.png").write_bytes(b"old")         # an earlier export's
      (docs / "tables" / "cifar10").mkdir(parents=True)
      (docs / "tables" / "cifar10" / "default-old.csv").write_text("x\n1\n")
      (docs / "method.md").write_text("kept")                  # not ours: untouched
      written = export.export(root, docs)
      self.assertCountEqual(written, ["capacity_mnist.png", "claims.md", "claims.json",
                                      "tables/mnist/default-abc.csv",
                                      "tables/mnist/trajectories_per_ellipse.csv"])
      self.assertEqual(pd.read_csv(docs / "tables" / "mnist" / "trajectories_per_ellipse.csv")
                       .dip_ratio.tolist(), [0.4])
      self.assertFalse((docs / "tables" / "mnist" / "regions_x.npz").exists())
      csv = pd.read_csv(docs / "tables" / "mnist" / "default-abc.csv")
      self.assertEqual(list(csv.trial_key), ["a", "b"])          # by trial index
      self.assertTrue(np.isnan(csv.gap[0]))
      self.assertEqual(csv.gap[1], 0.5)
      self.assertFalse((docs / "stale_figure.png").exists())
      self.assertFalse((docs / "tables" / "cifar10" / "default-old.csv").exists())
      self.assertFalse((docs / "capacity_mnist.pdf").exists())  # PNGs only
      self.assertEqual((docs / "method.md").read_text(), "kept")


class BinReproduceTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_dry_run_of_chosen_factors_counts_only_their_studies(self):
    with tempfile.TemporaryDirectory() as d:
      proc = run_bin("reproduce", "--config=configs/reproduce_factors.py", "--preset=tiny",
                     "--config.factors=nonlinearity,random_labels", f"--results_dir={d}",
                     "--dry_run")
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
      studies = re.findall(r"study (pairs_\w+) on fashion_mnist", proc.stdout)
      self.assertEqual(studies, ["pairs_nonlinearity", "pairs_random_labels"])
      self.assertIn("total: 24 networks", proc.stdout)  # 2 studies x at most 6 pairs
      # each says its goal and how far its rows are toward it (none trained yet)
      self.assertLen(re.findall(r"grows until \d+ fair pairs \(0 so far\)", proc.stdout), 2)
      self.assertIn("(2 studies and 0 single networks)", proc.stdout)  # counted apart
      self.assertEqual(os.listdir(d), [])  # a dry run trains and writes nothing

  @pytest.mark.slow
  def test_quick_run_and_bad_flags(self):
    with tempfile.TemporaryDirectory() as d:
      # --config names the experiment's file; its fields take overrides (1 slice: 3 anchors)
      proc = run_bin("reproduce", "--config=configs/reproduce_regions.py", "--preset=quick",
                     "--config.num_slices=1", "--dataset=fashion_mnist",
                     f"--results_dir={d}", f"--docs_dir={d}/docs", "--noprogress")
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
      self.assertRegex(proc.stdout, r"regions: C5 fashion_mnist: (holds|does not hold|not enough)")
      rows = json.loads(pathlib.Path(d, "claims", "regions.json").read_text())
      self.assertEqual([(r["dataset"], r["n"]) for r in rows], [("fashion_mnist", 3)])
      self.assertTrue(os.path.isfile(os.path.join(d, "docs", "regions_fashion_mnist.png")))
      self.assertIn("## C5: ", pathlib.Path(d, "docs", "claims.md").read_text())
      self.assertEqual(json.loads(pathlib.Path(d, "docs", "claims.json").read_text())["claims"],
                       json.loads(pathlib.Path(d, "claims.json").read_text())["claims"])
      self.assertTrue(os.path.isfile(os.path.join(d, "claims.md")))
      # A changed --config field trains a new network beside the old run, which stays as it was.
      networks = pathlib.Path(d, "fashion_mnist", "networks")
      (old,) = networks.iterdir()
      before = {p.name: p.stat().st_mtime_ns for p in old.rglob("*") if p.is_file()}
      proc = run_bin("reproduce", "--config=configs/reproduce_regions.py", "--preset=quick",
                     "--config.num_slices=1", "--config.network.width=8",
                     f"--results_dir={d}", "--noprogress")
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
      (new,) = set(networks.iterdir()) - {old}
      self.assertEqual(json.loads((new / "config.json").read_text())["config"]["width"], 8)
      self.assertEqual(json.loads((old / "config.json").read_text())["config"]["width"], 16)
      self.assertEqual({p.name: p.stat().st_mtime_ns for p in old.rglob("*") if p.is_file()},
                       before)
    for flags, message in ((["--experiment=everything"], "experiment='everything' is invalid"),
                           (["--experiment=regions", "--dataset=cifar10"],
                            "dataset 'cifar10' is not among regions's datasets"),
                           (["--experiment=regions", "--preset=huge"], "preset='huge'"),
                           (["--config=configs/reproduce_regions.py", "--preset=huge"],
                            "preset='huge' is invalid"),
                           (["--config=configs/nope.py"], "No such file or directory"),
                           (["--config=configs/reproduce_regions.py", "--config.nosuch=1"],
                            "the config has no field 'nosuch'"),
                           (["--config=configs/reproduce_factors.py",
                             "--config.factors=random_labels,colour"],
                            "factors='random_labels,colour' is invalid; allowed: distinct"),
                           (["--config=configs/reproduce_regions.py", "--experiment=points"],
                            "contradicts --config"),
                           ([], "--experiment is required")):
      assert_one_line_error(self, run_bin("reproduce", *flags, "--results_dir=/nonexistent/x"),
                            message)


if __name__ == "__main__":
  tf.test.main()
