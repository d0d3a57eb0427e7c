"""The shipped checkpoint reads the world's conventions and refuses non-digits.

These are tests of the file in resources/: the sets are written by hand
(core/handsets.py), never produced by the code the model was trained with. The floors are
what the shipped file reaches today (see resources/MODEL_CARD.md), so a worse model fails;
issue #13's goals (97% per convention, ≤ 5% non-digits) are higher and not met yet.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from mnist_desk.core.handsets import convention_set, non_digit_set
from mnist_desk.core.predict import NOT_SURE_BELOW, Predictor, reading_state
from mnist_desk.core.preprocess import strokes_to_mnist
from mnist_desk.paths import default_checkpoint_path


@pytest.fixture(scope="module")
def shipped() -> Predictor:
    return Predictor.from_path(default_checkpoint_path())


def test_shipped_model_is_calibrated_and_knows_non_digits(shipped):
    assert shipped.knows_non_digits
    assert shipped.temperature != 1.0  # fitted, not left at the default
    assert shipped.checkpoint.train_config["val_split"] > 0  # the temperature's data
    assert shipped.calibration.get("not_a_digit_shift", 0) > 0  # fitted on unseen writers


def test_the_shipped_model_reads_mnist_test_digits(shipped):
    """A fixed 2,000-digit slice of the real test set; the model card measures all 10,000."""
    from mnist_desk.core.data import load_mnist

    try:
        test = load_mnist(test_subset=2000, train=False).test
    except Exception as exc:  # the data folder is optional for the suite
        pytest.skip(f"MNIST not available: {exc}")
    probs = shipped.all_probabilities(test.images.numpy().astype(np.float32) / 255.0)
    accuracy = float((probs.argmax(1) == test.labels.numpy()).mean())
    assert accuracy >= 0.995, accuracy  # "not a digit" counts as an error


def test_conventions_are_read(shipped):
    items = convention_set()
    probs = shipped.all_probabilities(np.stack([strokes_to_mnist(s, w) for *_, s, w in items]))
    hits = defaultdict(list)
    for (name, digit, _, _), p in zip(items, probs, strict=True):
        hits[name].append(int(p.argmax()) == digit)
    rates = {name: float(np.mean(h)) for name, h in hits.items()}
    assert all(len(h) >= 20 for h in hits.values())
    assert min(rates.values()) >= 0.97, rates  # issue #13's goal for each convention


def test_non_digits_are_not_read_confidently(shipped):
    items = non_digit_set()
    assert len(items) >= 200
    probs = shipped.all_probabilities(np.stack([strokes_to_mnist(s, w) for _, s, w in items]))
    confident = probs[:, :10].max(axis=1) >= NOT_SURE_BELOW
    assert confident.mean() <= 0.05, f"{confident.mean():.1%} read confidently as a digit"


def test_a_dash_is_not_a_confident_two(shipped):
    dash = [[(40.0 + 10 * i, 140.0) for i in range(21)]]
    probs = shipped.all_probabilities(strokes_to_mnist(dash, 17.5))
    assert reading_state(probs[:10], float(probs[10])) != "digit"


def test_reading_state_thresholds():
    sure = np.array([0.95] + [0.005] * 9)
    assert reading_state(sure, 0.0) == "digit"
    assert reading_state(np.full(10, 0.05), 0.5) == "not-a-digit"
    assert reading_state(np.array([0.5, 0.4] + [0.0125] * 8), 0.0) == "not-sure"
