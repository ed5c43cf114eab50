"""lenet.sweep: concurrent runs, resume after a kill, failure handling, the Dask executor."""
import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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


@pytest.mark.reliability
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


@pytest.mark.reliability
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


@pytest.mark.reliability
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


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.reliability
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to find the workers")
def test_pool_workers_exit_when_the_sweep_is_killed(synthetic, tmp_path):
    """A killed sweep must not leave workers training (and writing records) on their own."""
    spec, root = synthetic
    configs = [tiny(seed, epochs=30) for seed in range(4)]
    spec_file = tmp_path / "spec.pkl"
    spec_file.write_bytes(pickle.dumps((spec, configs)))
    script = textwrap.dedent(f"""
        import pickle
        from lenet import data, sweep
        spec, configs = pickle.loads(open({str(spec_file)!r}, "rb").read())
        data.register(spec)
        sweep.run_sweep(configs, workers=2, results_dir={str(tmp_path / "results")!r}, data_dir={str(root)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    workers = []
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.5)
        workers = [pid for pid in _children(proc.pid)
                   if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
    assert len(workers) == 2, "the sweep did not start its two pool workers"
    time.sleep(3)  # let them pick up runs
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.2)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    for pid in alive:  # do not leak them into the rest of the test session
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"pool workers {alive} kept running after the sweep was killed"
