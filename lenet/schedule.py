"""Learning-rate schedules as pure functions of the 0-based epoch, plus a thin Keras adapter.

``paper_lr`` is LeCun et al.'s (1998) per-pass global rate (§II-D / Appendix C), which the UCL
group reused as a Keras scheduler; ``modern_lr`` is the Adam step schedule of Akioyamen's modern
LeNet-5 (CLAIMS.md §C). Both take a multiplier (the UCL tuning's "LR x10" is ``multiplier=10``).
"""
from __future__ import annotations

# (first epoch, rate): the rate holds from that 0-based epoch until the next entry.
PAPER_STEPS = ((0, 5e-4), (2, 2e-4), (5, 1e-4), (8, 5e-5), (12, 1e-5))
MODERN_STEPS = ((0, 1e-3), (10, 1e-4), (15, 1e-5))  # epochs 1-10, 11-15, 16-20 in 1-based counting


def _step(steps, epoch: int) -> float:
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0 (0-based), got {epoch}")
    return [rate for first, rate in steps if epoch >= first][-1]


def paper_lr(epoch: int, multiplier: float = 1.0) -> float:
    """The 1998 paper's rate for 0-based ``epoch``: 5e-4 (0-1), 2e-4 (2-4), 1e-4 (5-7), 5e-5 (8-11), 1e-5 (12+)."""
    return multiplier * _step(PAPER_STEPS, epoch)


def modern_lr(epoch: int, multiplier: float = 1.0) -> float:
    """Adam schedule of the modern variant: 1e-3 (0-9), 1e-4 (10-14), 1e-5 (15+)."""
    return multiplier * _step(MODERN_STEPS, epoch)


def constant_lr(epoch: int, multiplier: float = 1.0, base: float = 1e-3) -> float:
    """A constant rate (Keras' Adam default 1e-3 unless ``base`` says otherwise)."""
    _step(((0, base),), epoch)  # validates the epoch
    return multiplier * base


SCHEDULES = {"paper": paper_lr, "modern": modern_lr, "constant": constant_lr}


def learning_rate(schedule: str, epoch: int, multiplier: float = 1.0, base: float = 1e-3) -> float:
    """Rate of the named schedule at 0-based ``epoch``; ``base`` is used by ``constant`` only."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {sorted(SCHEDULES)}")
    if schedule == "constant":
        return constant_lr(epoch, multiplier, base)
    return SCHEDULES[schedule](epoch, multiplier)


def keras_callback(schedule: str, multiplier: float = 1.0, base: float = 1e-3):
    """A ``keras.callbacks.LearningRateScheduler`` that sets the rate at the start of each epoch."""
    import keras

    learning_rate(schedule, 0, multiplier, base)  # fail early on a bad name
    return keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: learning_rate(schedule, epoch, multiplier, base))
