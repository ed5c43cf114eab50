"""Profiles and notebook parameters: unknown names and bad values stop a run before any training."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lenet import params, pipeline, study

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["full", "smoke"])
def test_shipped_profiles_are_valid_and_complete(name):
    profile = params.load_profile(name)
    assert profile["profile"] == name
    configs = study.all_configs(profile)
    assert len(configs) == len(set(configs)) > 10


def test_full_profile_is_the_study_the_issue_asks_for():
    p = params.load_profile("full")
    assert (p["epochs"], p["repetitions"], p["folds"]) == (20, 10, 5)
    assert p["mnist_lr_multipliers"] == [1, 5, 10, 50, 100]
    assert p["fashion_lr_multipliers"] == [1, 5, 10, 15, 25, 50, 100]
    assert set(p["optimizers"]) == {"adam", "adamw", "rmsprop", "sgd"} and p["kernel_sizes"] == [3, 5, 7]


@pytest.mark.reliability
@pytest.mark.parametrize("change, match", [
    ({"epoch": 3}, r"unknown parameter\(s\) \['epoch'\]"),
    ({"epochs": 0}, r"epochs=0 is invalid: expected an integer >= 1"),
    ({"optimizers": ["adam", "lbfgs"]}, r"optimizers=.* is invalid"),
    ({"max_train_images": -5}, r"max_train_images=-5 is invalid"),
    ({"repetitions": 1}, r"repetitions=1 is invalid: expected an integer >= 2"),
    ({"ut_pools": [[2, 2, 2]]}, r"ut_pools=.* is invalid: expected .*padding <= kernel // 2"),
    ({"ut_activations": ["relu", "swish"]}, r"ut_activations=.* is invalid"),
    ({"akioyamen_epochs": 5}, r"akioyamen_epochs=5 is invalid: expected an integer >= 10"),
])
def test_bad_profile_is_refused(tmp_path, change, match):
    values = {**yaml.safe_load((REPO / "params" / "smoke.yaml").read_text()), **change}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(values))
    with pytest.raises(params.ParameterError, match=match):
        params.load_profile(path)


@pytest.mark.reliability
def test_missing_parameter_and_unknown_profile():
    with pytest.raises(params.ParameterError, match="no profile 'fulll'.*known profiles"):
        params.load_profile("fulll")


@pytest.mark.reliability
def test_notebook_check_catches_injected_typos():
    declared = ["epochs", "workers"]
    ok = params.from_notebook({"epochs": 3, "workers": None, "_": 1, "In": [], "pd": pytest, "f": print}, declared)
    assert ok.epochs == 3
    with pytest.raises(params.ParameterError, match=r"unknown parameter\(s\) \['epoch'\]"):
        params.from_notebook({"epochs": 3, "workers": None, "epoch": 30}, declared)


def test_every_notebook_declares_known_parameters_and_checks_them():
    import papermill

    notebooks = pipeline.notebooks()
    assert [nb.name[:2] for nb in notebooks] == [f"{i:02d}" for i in range(1, 14)]
    for nb in notebooks:
        declared = papermill.inspect_notebook(str(nb))
        assert declared and set(declared) <= set(params.SCHEMA), nb.name
        source = nb.read_text()
        assert "params.from_notebook(globals()" in source, nb.name
        assert '"outputs": []' in source and '"execution_count": null' in source, f"{nb.name} has outputs"


@pytest.mark.reliability
def test_papermill_run_with_a_misspelled_parameter_fails_before_training(tmp_path):
    """papermill itself only warns about `-p epoch 3`; the notebook's check cell stops it."""
    out = tmp_path / "out.ipynb"
    proc = subprocess.run([sys.executable, "-m", "papermill", str(REPO / "notebooks" / "02_replication.ipynb"),
                           str(out), "-p", "epoch", "3", "--cwd", str(REPO)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "unknown parameter(s) ['epoch']" in proc.stderr + proc.stdout
    assert "sweep:" not in out.read_text()  # nothing was trained


@pytest.mark.reliability
def test_pipeline_refuses_bad_profile_before_running(tmp_path, capsys):
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load((REPO / "params" / "smoke.yaml").read_text()), "epcohs": 2}))
    assert pipeline.main(["--profile", str(path), "--out", str(tmp_path / "book"), "--skip-build"]) == 2
    assert "unknown parameter(s) ['epcohs']" in capsys.readouterr().err
    assert not list((tmp_path / "book" / "book" / "executed").glob("*.ipynb"))


@pytest.mark.reliability
def test_pipeline_stops_at_first_failure_and_keeps_the_failed_notebook(tmp_path, monkeypatch, capsys):
    import nbformat

    source = tmp_path / "notebooks"
    source.mkdir()
    for name, code in (("01_ok.ipynb", "x = 1"), ("02_fails.ipynb", "raise ValueError('boom in 02')"),
                       ("03_never.ipynb", "y = 2")):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        params_cell = nbformat.v4.new_code_cell("epochs = 1")
        params_cell.metadata["tags"] = ["parameters"]
        nb.cells = [params_cell, nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, source / name)
    monkeypatch.setattr(pipeline, "NOTEBOOKS_DIR", source)
    out = tmp_path / "book"
    with pytest.raises(SystemExit):
        pipeline.execute("smoke", out_root=out)
    executed = out / "book" / "executed"
    assert sorted(p.name for p in executed.glob("*.ipynb")) == ["01_ok.ipynb", "02_fails.ipynb"]
    assert "boom in 02" in (executed / "02_fails.ipynb").read_text()  # kept, with its error
    err = capsys.readouterr().err
    assert "FAILED in 02_fails.ipynb" in err and str(executed / "02_fails.ipynb") in err
