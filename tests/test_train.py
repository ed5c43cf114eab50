"""lenet.experiments + lenet.train: configs, recorded runs, reuse, atomic records, determinism, CLI."""
import json

import numpy as np
import pytest

from lenet import experiments, train
from lenet.__main__ import main
from lenet.experiments import Experiment


def tiny(**changes) -> Experiment:
    return Experiment(**{"dataset": "synthetic", "epochs": 2, "batch_size": 32, "schedule": "constant",
                         "base_lr": 3e-3, **changes})


@pytest.mark.reliability
def test_presets_and_validation():
    assert experiments.preset("seed_keras") == Experiment()
    blog = experiments.preset("blog", seed=4)
    assert (blog.input_size, blog.f6, blog.activation, blog.batch_size, blog.seed) == (28, False, "tanh", 10, 4)
    modern = experiments.preset("modern")
    assert (modern.activation, modern.pooling, modern.schedule) == ("relu", "max", "modern")
    with pytest.raises(ValueError, match=r"Experiment.optimizer='adagrad' is not valid.*adamw"):
        Experiment(optimizer="adagrad")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        Experiment(epochs=0)
    with pytest.raises(ValueError, match="unknown dataset"):
        Experiment(dataset="cifar10")
    with pytest.raises(ValueError, match="unknown Experiment fields.*'epoch'"):
        Experiment.from_dict({"epoch": 3})


def test_key_is_stable_and_sensitive():
    a = Experiment()
    assert a.key() == Experiment.from_dict(a.to_dict()).key() and len(a.key()) == 16
    assert a.key() != a.replace(seed=1).key() != a.replace(lr_multiplier=10).key()
    assert a.replace(lr_multiplier=10).key() == a.replace(lr_multiplier=10.0).key()
    with pytest.raises(ValueError, match="lr_multiplier must be a positive number"):
        a.replace(lr_multiplier="ten")


def test_run_records_everything_and_is_reused(synthetic, tmp_path, capsys):
    spec, root = synthetic
    config = tiny()
    record = train.run(config, data_dir=root)
    out = capsys.readouterr().out
    assert out.count(" epoch ") == 2 and "test accuracy" in out  # one progress line per epoch
    assert record.test_accuracy > 0.9  # the bars are easy
    assert list(record.history["epoch"]) == [1, 2]
    assert {"loss", "accuracy", "error", "heldout_loss", "heldout_error", "lr", "seconds"} <= set(record.history)
    assert record.confusion_matrix.shape == (10, 10) and record.confusion_matrix.sum() == 200
    assert record.arrays["y_pred"].shape == (200,)
    assert np.mean(record.arrays["y_pred"] == record.arrays["y_true"]) == pytest.approx(record.test_accuracy)
    prov = record.data["provenance"]
    assert prov["packages"]["tensorflow"] and prov["cpu"] and prov["python"]
    assert record.data["config"] == config.to_dict()
    path, npz = experiments.run_paths(config.key())
    assert json.loads(path.read_text())["key"] == config.key() and npz.exists()

    def no_training(*args, **kwargs):
        raise AssertionError("retrained a recorded run")

    original = train.train
    train.train = no_training
    try:
        again = train.run(config, data_dir=root)
    finally:
        train.train = original
    assert again.data == record.data and "recorded run loaded" in capsys.readouterr().out


def test_same_seed_same_numbers_other_seed_differs(synthetic):
    spec, root = synthetic
    config = tiny(max_train_images=300)
    a = train.run(config, data_dir=root, verbose=False)
    b = train.run(config, data_dir=root, verbose=False, force=True)
    c = train.run(config.replace(seed=1), data_dir=root, verbose=False)
    for metric in ("loss", "heldout_loss", "accuracy"):
        assert a.data["history"][metric] == b.data["history"][metric]
    assert a.data["history"]["loss"] != c.data["history"]["loss"]


@pytest.mark.reliability
def test_failed_write_keeps_earlier_records(synthetic, monkeypatch):
    spec, root = synthetic
    first = train.run(tiny(epochs=1), data_dir=root, verbose=False)
    first_path, _ = experiments.run_paths(first.key)
    before = first_path.read_text()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(experiments.json, "dumps", crash)
    second = tiny(epochs=1, seed=5)
    with pytest.raises(KeyboardInterrupt):
        train.run(second, data_dir=root, verbose=False)
    monkeypatch.undo()
    runs = first_path.parent
    assert first_path.read_text() == before
    assert not (runs / f"{second.key()}.json").exists()  # no half-written record
    assert not [p for p in runs.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert experiments.load_record(second.key()) is None


def test_validation_and_kfold_splits_train(synthetic):
    spec, root = synthetic
    val = train.run(tiny(epochs=1, split="validation"), data_dir=root, verbose=False)
    assert val.data["heldout_name"] == "validation" and val.data["n_train"] == 540 and val.test["n"] == 200
    fold = train.run(tiny(epochs=1, split="stratified_kfold", fold=2), data_dir=root, verbose=False)
    assert fold.data["heldout_name"] == "fold 2" and fold.test["n"] == 160


def test_cli_trains_then_reuses(synthetic, capsys):
    spec, root = synthetic
    argv = ["train", "--dataset", "synthetic", "--epochs", "1", "--seed", "2", "--data-dir", str(root),
            "--set", "schedule=constant", "--set", "max_train_images=200"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "epoch  1/1" in out and "record:" in out
    assert main(argv) == 0 and "recorded run loaded" in capsys.readouterr().out


@pytest.mark.reliability
def test_cli_reports_bad_input(capsys):
    assert main(["train", "--dataset", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--set", "epoch=3"])
    assert "unknown field(s) ['epoch']" in capsys.readouterr().err


@pytest.mark.reliability
def test_diverged_run_is_recorded_and_not_retried(synthetic, capsys):
    spec, root = synthetic
    config = tiny(optimizer="sgd", base_lr=1e30, activation="relu", epochs=3)  # unbounded: overflows to NaN
    record = train.run(config, data_dir=root)
    assert record.data["status"] == "diverged" and not record.ok
    assert "training loss became" in record.data["error"] and record.test_accuracy != record.test_accuracy
    assert "DIVERGED" in capsys.readouterr().out
    again = train.run(config, data_dir=root)
    assert again.data == record.data and "recorded run loaded" in capsys.readouterr().out
