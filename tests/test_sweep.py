"""lenet.sweep: concurrent runs, resume after a kill, failure handling, the Dask executor."""
import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from lenet import data, experiments, sweep
from lenet.experiments import Experiment


def tiny(seed, **changes):
    return Experiment(**{"dataset": "synthetic", "epochs": 2, "schedule": "constant", "base_lr": 3e-3,
                         "max_train_images": 300, "seed": seed, **changes})


@pytest.fixture
def broken_dataset(tmp_path):
    """A registered dataset whose files do not exist: its runs fail with a DataError."""
    spec = data.register(data.DatasetSpec("broken", "broken", data.MNIST_FILES, sha256=None,
                                          class_names=tuple("0123456789")))
    yield spec
    data._REGISTRY.pop("broken", None)


def test_process_pool_runs_failures_and_reuse(synthetic, broken_dataset, tmp_path):
    spec, root = synthetic
    configs = [tiny(0), tiny(1).replace(dataset="broken"), tiny(2)]
    out = io.StringIO()
    result = sweep.run_sweep(configs, workers=2, threads_per_worker=1, data_dir=root, stream=out)
    log = out.getvalue()
    assert "sweep: 3 runs, 0 already recorded, 3 to train (2 workers x 1 threads)" in log
    assert log.count("done | elapsed") == 3 and "ETA" in log
    # the failing config is reported with its error; the others finish and are kept
    bad = configs[1].key()
    assert list(result.failures) == [bad] and "DataError" in result.failures[bad]
    assert "missing files" in result.failures[bad] and f"[{bad[:8]}]" in log and "FAILED" in log
    assert result.records[1] is None and result.records[0].test_accuracy > 0.5 and result.records[2] is not None
    assert sorted(result.trained) == sorted([configs[0].key(), configs[2].key()])
    with pytest.raises(RuntimeError, match="1 of 3 runs failed"):
        result.raise_on_failure()
    # a second sweep reuses the two records and retries only the failed run
    again = sweep.run_sweep(configs, workers=2, data_dir=root, stream=io.StringIO())
    assert again.trained == [] and list(again.failures) == [bad]
    assert again.records[0].data == result.records[0].data


def test_resume_after_kill_trains_only_the_rest(synthetic, tmp_path):
    spec, root = synthetic
    configs = [tiny(seed, epochs=3) for seed in range(5)]
    results_dir = tmp_path / "results"
    spec_file = tmp_path / "spec.pkl"
    spec_file.write_bytes(pickle.dumps((spec, configs)))
    script = textwrap.dedent(f"""
        import pickle
        from lenet import data, sweep
        spec, configs = pickle.loads(open({str(spec_file)!r}, "rb").read())
        data.register(spec)
        sweep.run_sweep(configs, workers=1, results_dir={str(results_dir)!r}, data_dir={str(root)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = results_dir / "runs"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(runs.glob("*.json"))) < 2 and proc.poll() is None:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.stem: p.read_bytes() for p in runs.glob("*.json")}
    assert 2 <= len(finished) < 5, "the sweep should have been killed half-way"

    result = sweep.run_sweep(configs, workers=1, results_dir=results_dir, data_dir=root, stream=io.StringIO())
    assert result.ok and all(r is not None for r in result.records)
    assert set(result.trained) == {c.key() for c in configs} - set(finished)  # only the rest trained
    for key, content in finished.items():  # nothing finished was lost or rewritten
        assert (runs / f"{key}.json").read_bytes() == content
    assert not [p for p in runs.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_dask_local_cluster_executor(synthetic, broken_dataset):
    distributed = pytest.importorskip("distributed")
    spec, root = synthetic
    configs = [tiny(0), tiny(1), tiny(3).replace(dataset="broken")]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        result = sweep.run_sweep(configs, executor=client, data_dir=root, stream=io.StringIO())
    assert sorted(result.trained) == sorted(c.key() for c in configs[:2])
    assert list(result.failures) == [configs[2].key()] and "missing files" in result.failures[configs[2].key()]
    assert all(experiments.load_record(c.key()) is not None for c in configs[:2])


def test_default_workers_one_per_core():
    assert sweep.default_workers() == (os.cpu_count(), 1)
