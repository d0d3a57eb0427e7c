"""Temperature scaling and ECE, and the rule that calibration never sees the test set."""

from __future__ import annotations

import inspect

import numpy as np
import torch

from mnist_desk.core.calibration import expected_calibration_error, fit_temperature


def test_fit_temperature_recovers_overconfidence():
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 10, generator=generator) * 2
    labels = torch.distributions.Categorical(logits=true_logits).sample()
    fitted = fit_temperature(true_logits * 3.0, labels)  # a model three times too sure
    assert 2.6 < fitted < 3.4
    probs_hot = (true_logits * 3.0).softmax(1).numpy()
    probs_fixed = (true_logits * 3.0 / fitted).softmax(1).numpy()
    assert expected_calibration_error(probs_fixed, labels.numpy()) < expected_calibration_error(
        probs_hot, labels.numpy()
    )


def test_ece_of_a_perfectly_calibrated_and_a_wrong_model():
    probs = np.array([[0.9, 0.1]] * 10)
    labels = np.array([0] * 9 + [1])
    assert expected_calibration_error(probs, labels) < 1e-9
    assert abs(expected_calibration_error(probs, np.ones(10, int)) - 0.9) < 1e-9


def test_calibration_set_is_built_without_the_test_split():
    """The recipe's calibration set takes the validation split only: no test data can reach it."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "training" / "handwriting.py"
    spec = importlib.util.spec_from_file_location("handwriting_recipe", path)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    params = inspect.signature(recipe.calibration_set).parameters
    assert "val" in params and not any("test" in name for name in params)
    source = inspect.getsource(recipe.main)
    assert ".test" not in source and "syn" not in source.replace("synthetic", "")


def test_with_temperature_matches_scaled_logits_and_undoes_itself():
    from mnist_desk.core.calibration import with_temperature

    logits = torch.randn(50, 11, generator=torch.Generator().manual_seed(1)) * 4
    raw = logits.softmax(1).numpy()
    calibrated = with_temperature(raw, 1.7)
    np.testing.assert_allclose(calibrated, (logits / 1.7).softmax(1).numpy(), atol=1e-5)
    np.testing.assert_allclose(with_temperature(calibrated, 1 / 1.7), raw, atol=1e-5)
    assert calibrated.dtype == raw.dtype


def test_two_question_calibration_and_its_undo():
    from mnist_desk.core.calibration import calibrate_logits, calibrate_probabilities

    logits = torch.randn(50, 11, generator=torch.Generator().manual_seed(2)) * 4
    calibration = {"temperature": 0.5, "not_a_digit_scale": 0.8, "not_a_digit_bias": -2.0}
    probs = calibrate_logits(logits, calibration).softmax(1)
    margin = logits[:, 10] - torch.logsumexp(logits[:, :10], 1)
    other = torch.sigmoid(0.8 * margin - 2.0)
    np.testing.assert_allclose(probs[:, 10], other, atol=1e-6)
    digits = (logits[:, :10] / 0.5).softmax(1) * (1 - other)[:, None]
    np.testing.assert_allclose(probs[:, :10], digits, atol=1e-6)
    raw = logits.softmax(1).numpy()
    calibrated = calibrate_probabilities(raw, calibration)
    np.testing.assert_allclose(calibrated, probs.numpy(), atol=1e-5)
    np.testing.assert_allclose(
        calibrate_probabilities(calibrated, calibration, undo=True), raw, atol=1e-5
    )
    # a temperature alone divides all 11 logits, as older checkpoints expect
    np.testing.assert_allclose(calibrate_logits(logits, {"temperature": 2.0}), logits / 2.0)


def test_the_not_a_digit_fit_moves_the_boundary_to_the_held_out_data():
    from mnist_desk.core.calibration import fit_calibration

    generator = torch.Generator().manual_seed(3)
    digits = torch.randn(600, 11, generator=generator)
    labels = torch.randint(0, 10, (600,), generator=generator)
    digits[torch.arange(600), labels] += 4.0
    # an over-eager "not a digit" output: its logit sits near the digit's on real digits
    digits[:, 10] = digits[torch.arange(600), labels] - 0.5 + torch.randn(600, generator=generator)
    others = torch.randn(200, 11, generator=generator)
    others[:, 10] += 8.0
    tens = torch.full((200,), 10)
    fitted = fit_calibration({"digits": (digits, labels), "others": (others, tens)})
    from mnist_desk.core.calibration import calibrate_logits

    raw_rejects = (digits.argmax(1) == 10).float().mean()
    probs = calibrate_logits(digits, fitted).softmax(1)
    assert (probs.argmax(1) == 10).float().mean() < raw_rejects / 2
    assert (calibrate_logits(others, fitted).softmax(1).argmax(1) == 10).float().mean() > 0.95
    given = fit_calibration({"digits": (digits, labels)}, not_a_digit=(0.5, -1.0))
    assert given["not_a_digit_scale"] == 0.5 and given["not_a_digit_bias"] == -1.0
