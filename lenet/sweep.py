"""Run many experiments concurrently: a list of configs -> their records.

    result = lenet.sweep.run_sweep([lenet.preset("seed_keras", seed=s) for s in range(10)])
    result.records        # one Record per config, in order (None where a run failed)

Recorded runs are loaded, not retrained, so a sweep killed half-way resumes where it stopped.
A run that raises (or whose record is damaged) is reported with its error; the others finish and
are kept. Two sweeps on one results folder train each run once: the second waits on the run's
lock (``experiments.run_lock``), then loads the first one's record. By default runs
go to a local process pool with one single-threaded TensorFlow per core (measured faster here
than one process using every core: see bench/engine_speed.py); pass a Dask
``distributed.Client`` as ``executor`` to spread them over a cluster.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data, experiments
from .experiments import Experiment


def default_workers() -> tuple[int, int]:
    """(workers, threads per worker): one single-threaded worker per core on a CPU machine (two
    1-thread workers out-ran one 2-thread process, and 2x2 threads ran 1.5x slower, on a 2-core
    machine); one worker per GPU, with the cores shared out, on a GPU machine."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    cores = max(1, os.cpu_count() or 1)
    gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus:
        return gpus, max(1, cores // gpus)
    return cores, 1


def configure_threads(threads: int) -> None:
    """Pin TensorFlow's thread pools; must run before TensorFlow executes anything in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised (a reused worker): it keeps its first setting
        pass


def run_one(config: dict, spec: data.DatasetSpec, threads: int | None, results_dir: str | None,
            data_dir: str | None, force: bool) -> dict:
    """Worker task: train (or load) one config; reports errors as data instead of raising."""
    start = time.perf_counter()
    try:
        if threads is not None:
            configure_threads(threads)
        if data._REGISTRY.get(spec.name) != spec:  # datasets registered at run time (tests, users)
            data.register(spec)
        from .train import run_or_load

        record, trained = run_or_load(Experiment.from_dict(config), force=force, results_dir=results_dir,
                                      data_dir=data_dir, verbose=False)
        return {"key": record.key, "ok": True, "trained": trained, "status": record.data["status"],
                "seconds": time.perf_counter() - start, "test_accuracy": record.test_accuracy}
    except Exception as exc:  # noqa: BLE001 -- any failure of one run is reported, the sweep goes on
        return {"key": Experiment.from_dict(config).key(), "ok": False, "seconds": time.perf_counter() - start,
                "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


def exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """Pool-worker initializer: end this worker when the sweep that started it is gone (killed,
    say), instead of finishing its queued runs unsupervised with code that may have changed since."""
    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(3)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


@dataclass
class SweepResult:
    """Records in config order (None where a run failed), which ran now, and the failures."""

    configs: list
    records: list
    trained: list = field(default_factory=list)  # keys trained by this call (not by another process meanwhile)
    failures: dict = field(default_factory=dict)  # key -> error text (with traceback)
    wall_time_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def raise_on_failure(self) -> None:
        if self.failures:
            first = next(iter(self.failures.values()))
            raise RuntimeError(f"{len(self.failures)} of {len(self.configs)} runs failed; first error:\n{first}")


def _fmt(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _recorded(key: str, results_dir: str):
    """The run's record, or None when it has none or a damaged one (its run then reports the damage)."""
    try:
        return experiments.load_record(key, results_dir)
    except (OSError, ValueError):
        return None


def run_sweep(configs: list[Experiment], workers: int | None = None, threads_per_worker: int | None = None,
              executor=None, force: bool = False, results_dir: Path | str | None = None,
              data_dir: Path | str | None = None, stream=None) -> SweepResult:
    """Train every config not yet recorded, ``workers`` at a time; return all records.

    ``executor``: None for a local process pool, or a Dask ``distributed.Client`` (its workers
    must see the same ``results_dir``). Progress: one line per finished run with the overall
    count, elapsed time and an ETA.
    """
    stream = stream or sys.stdout
    default_w, default_t = default_workers()
    workers = workers or default_w
    threads = threads_per_worker or default_t
    results_dir = str(results_dir) if results_dir is not None else str(experiments.default_results_dir())
    data_dir = None if data_dir is None else str(data_dir)
    start = time.perf_counter()

    unique = list(dict.fromkeys(configs))
    todo = [c for c in unique if force or _recorded(c.key(), results_dir) is None]
    total = len(unique)
    print(f"sweep: {total} runs, {total - len(todo)} already recorded, {len(todo)} to train "
          f"({workers} workers x {threads} threads)", file=stream, flush=True)
    result = SweepResult(list(configs), [])
    done = total - len(todo)
    durations: list = []

    def report(config: Experiment, outcome: dict) -> None:
        nonlocal done
        done += 1
        elapsed = time.perf_counter() - start
        durations.append(outcome["seconds"])
        eta = float(np.mean(durations)) * (len(todo) - len(durations)) / workers
        if outcome["ok"]:
            if outcome["trained"]:
                result.trained.append(outcome["key"])
            what = (f"{outcome['test_accuracy']:.2%} test accuracy" if outcome["status"] == "ok"
                    else f"{outcome['status']} (recorded)") + f" in {_fmt(outcome['seconds'])}"
            if not outcome["trained"]:
                what += " (recorded meanwhile by another process: loaded)"
        else:
            result.failures[outcome["key"]] = outcome["error"] + "\n" + outcome.get("traceback", "")
            what = f"FAILED: {outcome['error']}"
        print(f"sweep: {done}/{total} done | elapsed {_fmt(elapsed)} | ETA {_fmt(eta)} | "
              f"[{outcome['key'][:8]}] {config.label()}: {what}", file=stream, flush=True)

    tasks = [(c.to_dict(), data.get_spec(c.dataset), threads, results_dir, data_dir, force) for c in todo]
    if not todo:
        pass
    elif executor is not None and hasattr(executor, "gather"):  # a Dask distributed.Client
        from distributed import as_completed

        futures = {executor.submit(run_one, *task, pure=False): c for c, task in zip(todo, tasks)}
        for future in as_completed(futures):
            report(futures[future], future.result())
    elif executor is None and workers == 1:  # in-process: no spawn cost; threads pinned only if asked
        for config, task in zip(todo, tasks):
            report(config, run_one(task[0], task[1], threads_per_worker, *task[3:]))
    else:
        pool = executor or concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=exit_with_parent, initargs=(os.getpid(),))
        try:
            futures = {pool.submit(run_one, *task): c for c, task in zip(todo, tasks)}
            for future in concurrent.futures.as_completed(futures):
                report(futures[future], future.result())
        finally:
            if executor is None:
                pool.shutdown(cancel_futures=True)

    from .train import Record

    for config in configs:
        found = _recorded(config.key(), results_dir)
        result.records.append(None if found is None else Record(config, *found))
    result.wall_time_s = time.perf_counter() - start
    print(f"sweep: finished {len(result.trained)} trained, {len(result.failures)} failed, "
          f"{total - len(result.trained) - len(result.failures)} reused, in {_fmt(result.wall_time_s)}",
          file=stream, flush=True)
    return result
