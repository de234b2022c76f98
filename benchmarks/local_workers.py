"""Local workers: networks per hour of one process against N worker processes.

Runs the same study, the default random survey of the small preset (1,000-example
Fashion-MNIST subset, the small space and evaluation), from scratch with the real command,
once in one process (``bin/survey``) and once per worker count (``bin/survey
--local_workers=N``), each in a fresh temporary results directory, and repeats that with
another survey seed (other networks, equal for every side of one repeat). The order of the
sides rotates between repeats, so a machine that slows down over time favours none.
Networks per hour = networks / wall time of the whole command (start-up included). It also
checks that every side's table holds the same trials, and prints the default it suggests:
the worker count with the highest median throughput if that beats one process by at least
10%, else 0 (one process).

Run it on an otherwise idle machine (it measures the machine, not only the code):

  .venv/bin/python benchmarks/local_workers.py                      # workers 2 and all cores
  .venv/bin/python benchmarks/local_workers.py --workers=2,3,4 --num_models=24 --repeats=3
  .venv/bin/python benchmarks/local_workers.py --tiny               # a minute: proves it runs

Time: about (1 + number of worker counts) x repeats x num_models networks of the small preset
(16 networks take about 2 minutes in one process on this project's 2-core machine by the
recorded rate of 452-528 networks/hour).
"""

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

flags.DEFINE_string("workers", None, "Worker counts to compare with one process, comma-"
                    "separated (default: 2 and the number of cores, if different).")
flags.DEFINE_integer("num_models", 16, "Networks per run.")
flags.DEFINE_integer("repeats", 2, "Runs per side (each with its own survey seed).")
flags.DEFINE_string("preset", "small", "Preset of the survey.")
flags.DEFINE_string("dataset", "fashion_mnist", "Dataset.")
flags.DEFINE_string("data_dir", None, "Local copy of the data (bin/survey --data_dir).")
flags.DEFINE_bool("tiny", False, "Seconds, not minutes: tiny preset, 4 networks, one repeat, "
                  "2 workers (to check that the benchmark runs, not to measure).")
FLAGS = flags.FLAGS


def cores() -> int:
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:
    return os.cpu_count() or 1


def run_side(workers: int, seed: int, preset: str, num_models: int, results_dir) -> float:
  """Runs the survey with ``workers`` local workers (0: one process); returns its wall time."""
  cmd = [sys.executable, str(REPO / "bin" / "survey"), "--config=configs/survey_default.py",
         f"--preset={preset}", f"--dataset={FLAGS.dataset}", f"--config.num_models={num_models}",
         f"--config.seed={seed}", f"--results_dir={results_dir}", "--noprogress",
         f"--local_workers={workers}"]
  if FLAGS.data_dir:
    cmd.append(f"--data_dir={FLAGS.data_dir}")
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                                  os.environ.get("PYTHONPATH")])))
  start = time.time()
  proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
  elapsed = time.time() - start
  if proc.returncode != 0:
    raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
  return elapsed


def trial_keys(results_dir) -> list:
  import pandas as pd
  return sorted(pd.read_parquet(pathlib.Path(results_dir, "table")).trial_key)


def main(_):
  preset, num_models, repeats = FLAGS.preset, FLAGS.num_models, FLAGS.repeats
  counts = sorted({2, cores()} - {1}) if FLAGS.workers is None else [
      int(w) for w in FLAGS.workers.split(",")]
  if FLAGS.tiny:
    preset, num_models, repeats, counts = "tiny", 4, 1, [2]
  sides = [0] + counts
  walls = {w: [] for w in sides}
  print(f"{preset} preset, {FLAGS.dataset}, {num_models} networks per run, {repeats} "
        f"repeat(s), {cores()} cores; sides: one process, workers {counts}", flush=True)
  for repeat in range(repeats):
    order = sides[repeat % len(sides):] + sides[:repeat % len(sides)]
    keys = {}
    for w in order:
      with tempfile.TemporaryDirectory() as d:
        walls[w].append(run_side(w, repeat, preset, num_models, d))
        keys[w] = trial_keys(d)
      print(f"  repeat {repeat}: {'one process' if w == 0 else f'{w} workers'} "
            f"{walls[w][-1]:.0f} s", flush=True)
    if any(k != keys[0] for k in keys.values()):
      raise SystemExit(f"repeat {repeat}: the sides' tables hold different trials")
  base = statistics.median(walls[0])
  print("\n| side | median wall (s) | networks/hour | × one process |\n|---|---|---|---|")
  rates = {}
  for w in sides:
    wall = statistics.median(walls[w])
    rates[w] = num_models / wall * 3600
    print(f"| {'one process' if w == 0 else f'{w} local workers'} | {wall:.0f} | "
          f"{rates[w]:.0f} | {base / wall:.2f} |")
  best = max(counts, key=lambda w: rates[w])
  suggested = best if rates[best] >= 1.1 * rates[0] else 0
  print(f"\nsuggested default: --local_workers={suggested} (the fastest worker count if it "
        "beats one process by 10% or more, else 0)")


if __name__ == "__main__":
  app.run(main)
