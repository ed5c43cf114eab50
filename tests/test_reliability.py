"""Failure cases of the record store and the sweep: a run whose loss goes NaN inside a sweep, two
sweeps at once on one results folder, damaged record files. (The data-file, parameter, kill and
resume cases live beside the code they test; ``pytest -m reliability`` runs them all.)"""
import io
import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lenet import experiments, sweep, train
from lenet.experiments import Experiment

pytestmark = pytest.mark.reliability


def tiny(seed, **changes):
    return Experiment(**{"dataset": "synthetic", "epochs": 1, "schedule": "constant", "base_lr": 3e-3,
                         "max_train_images": 300, "seed": seed, **changes})


def diverging(seed=0):
    """Plain SGD at 1e30 on an unbounded activation: the loss overflows to inf / NaN at once."""
    return tiny(seed, optimizer="sgd", base_lr=1e30, activation="relu", epochs=3)


def test_nan_run_in_a_sweep_is_recorded_and_the_sweep_goes_on(synthetic):
    spec, root = synthetic
    configs = [tiny(0), diverging(), tiny(1)]
    out = io.StringIO()
    result = sweep.run_sweep(configs, workers=1, data_dir=root, stream=out)
    assert result.ok and sorted(result.trained) == sorted(c.key() for c in configs)  # diverged is a result
    nan_run = result.records[1]
    assert nan_run.data["status"] == "diverged" and not nan_run.ok
    assert "training loss became" in nan_run.data["error"] and np.isnan(nan_run.test_accuracy)
    assert f"[{configs[1].key()[:8]}]" in out.getvalue() and "diverged (recorded)" in out.getvalue()
    assert all(r.ok and r.test_accuracy > 0.5 for r in (result.records[0], result.records[2]))
    # the next sweep loads all three, the diverged one included: nothing is retrained
    again_out = io.StringIO()
    again = sweep.run_sweep(configs, workers=1, data_dir=root, stream=again_out)
    assert again.trained == [] and again.ok and "3 already recorded, 0 to train" in again_out.getvalue()
    assert [r.data for r in again.records] == [r.data for r in result.records]


CONCURRENT_SWEEP = """
    import json, pickle, sys, time
    from pathlib import Path
    from lenet import data, sweep
    spec, configs, results_dir, data_dir, base = pickle.loads(open(sys.argv[1], "rb").read())
    me, other = sys.argv[2], sys.argv[3]
    data.register(spec)
    sweep.default_workers()  # import TensorFlow before the start line, so both sweeps start together
    (Path(base) / f"ready-{me}").touch()
    while not (Path(base) / f"ready-{other}").exists():
        time.sleep(0.01)
    result = sweep.run_sweep(configs, workers=1, results_dir=results_dir, data_dir=data_dir, stream=sys.stderr)
    json.dump({"trained": result.trained, "failures": result.failures,
               "records": {r.key: r.data for r in result.records}}, sys.stdout)
"""


def test_two_sweeps_at_once_train_each_run_once(synthetic, tmp_path):
    spec, root = synthetic
    configs = [tiny(seed) for seed in range(4)]
    results_dir = tmp_path / "results"
    spec_file = tmp_path / "spec.pkl"
    spec_file.write_bytes(pickle.dumps((spec, configs, str(results_dir), str(root), str(tmp_path))))
    script = textwrap.dedent(CONCURRENT_SWEEP)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(spec_file), me, other],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for me, other in (("a", "b"), ("b", "a"))]
    outcomes = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=300)
        finally:
            proc.kill()
        assert proc.returncode == 0, stderr[-3000:]
        outcomes.append(json.loads(stdout))
    keys = {c.key() for c in configs}
    assert all(not o["failures"] for o in outcomes)
    # each run trained by exactly one of the two sweeps; the other waited for it and loaded its record
    trained = [key for o in outcomes for key in o["trained"]]
    assert sorted(trained) == sorted(keys), f"trained {len(trained)} times for {len(keys)} runs"
    # one record per run, complete and readable, and the one both sweeps returned (never overwritten)
    runs = results_dir / "runs"
    assert sorted(p.name for p in runs.iterdir()) == sorted(f"{k}.{ext}" for k in keys for ext in ("json", "npz", "lock"))
    for key in keys:
        record, arrays = experiments.load_record(key, results_dir)
        assert record["key"] == key and arrays["y_pred"].shape == (200,)
        assert outcomes[0]["records"][key] == outcomes[1]["records"][key] == record


@pytest.mark.parametrize("damage, error, match", [
    ("truncated_json", ValueError, r"corrupt or truncated run record"),
    ("wrong_key", ValueError, r"not the record of run"),
    ("missing_npz", FileNotFoundError, r"has no predictions file"),
    ("truncated_npz", ValueError, r"corrupt or truncated predictions file"),
])
def test_damaged_record_names_the_file_and_the_fix(synthetic, damage, error, match):
    spec, root = synthetic
    keep, broken = train.run(tiny(0), data_dir=root, verbose=False), tiny(1)
    train.run(broken, data_dir=root, verbose=False)
    json_path, npz_path = experiments.run_paths(broken.key())
    if damage == "truncated_json":
        json_path.write_text(json_path.read_text()[: json_path.stat().st_size // 2])
    elif damage == "wrong_key":
        json_path.write_text(experiments.run_paths(keep.key)[0].read_text())
    elif damage == "missing_npz":
        npz_path.unlink()
    else:
        npz_path.write_bytes(npz_path.read_bytes()[: npz_path.stat().st_size // 2])
    damaged = {p: p.read_bytes() for p in (json_path, npz_path) if p.exists()}
    kept = {p: p.read_bytes() for p in experiments.run_paths(keep.key)}
    named = json_path.name if damage != "truncated_npz" else npz_path.name

    with pytest.raises(error, match=match) as info:
        experiments.load_record(broken.key())
    assert named in str(info.value) and "force=True" in str(info.value)
    with pytest.raises(error, match=match):
        train.run(broken, data_dir=root, verbose=False)
    # in a sweep: that run is reported with the same message, the others go on
    result = sweep.run_sweep([keep.config, broken, tiny(2)], workers=1, data_dir=root, stream=io.StringIO())
    assert list(result.failures) == [broken.key()] and named in result.failures[broken.key()]
    assert result.trained == [tiny(2).key()] and result.records[0].data == keep.data and result.records[1] is None
    # nothing was deleted or rewritten: neither the damaged record nor the finished one beside it
    assert {p: p.read_bytes() for p in damaged} == damaged and {p: p.read_bytes() for p in kept} == kept
    # the fix the message gives works
    fixed = train.run(broken, data_dir=root, verbose=False, force=True)
    assert experiments.load_record(broken.key())[0] == fixed.data

