"""lenet: LeNet-5, 25 years on -- the helper package behind the report's chapters.

    import lenet
    record = lenet.run(lenet.preset("seed_keras", seed=0))   # train (or load) one recorded run
    record.history, record.test_accuracy, record.confusion_matrix
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ log noise out of notebooks

from .data import DataError, load  # noqa: E402
from .experiments import Experiment, preset  # noqa: E402
from .train import Record, run  # noqa: E402

__all__ = ["DataError", "Experiment", "Record", "load", "preset", "run"]
