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


def test_prior_shift_matches_shifted_logits_and_undoes_itself():
    from mnist_desk.core.calibration import calibrate_logits, calibrate_probabilities

    logits = torch.randn(50, 11, generator=torch.Generator().manual_seed(2)) * 4
    calibration = {"temperature": 1.3, "not_a_digit_shift": 2.5}
    expected = logits.clone()
    expected[:, 10] -= 2.5
    expected = (expected / 1.3).softmax(1).numpy()
    np.testing.assert_allclose(
        calibrate_logits(logits, calibration).softmax(1), expected, atol=1e-6
    )
    calibrated = calibrate_probabilities(logits.softmax(1).numpy(), calibration)
    np.testing.assert_allclose(calibrated, expected, atol=1e-5)
    undone = calibrate_probabilities(calibrated, calibration, undo=True)
    np.testing.assert_allclose(undone, logits.softmax(1).numpy(), atol=1e-5)
    ten = torch.randn(5, 10)  # a ten-class model has no "not a digit" logit to shift
    np.testing.assert_allclose(calibrate_logits(ten, calibration), ten / 1.3, atol=1e-6)


def test_fit_shift_corrects_an_over_eager_not_a_digit_class_and_no_more():
    from mnist_desk.core.calibration import fit_calibration

    def fit_not_a_digit_shift(parts):
        return fit_calibration(parts, 0.6).get("not_a_digit_shift", 0.0)

    generator = torch.Generator().manual_seed(3)
    digits = torch.randn(600, 11, generator=generator)
    labels = torch.randint(0, 10, (600,), generator=generator)
    digits[torch.arange(600), labels] += 4.0
    digits[:, 10] = digits[torch.arange(600), labels] - 1.0 + torch.randn(600, generator=generator)
    others = torch.randn(200, 11, generator=generator)
    others[:, 10] += 6.0
    tens = torch.full((200,), 10)
    fitted = fit_calibration({"digits": (digits, labels), "others": (others, tens)}, 0.6)
    assert fitted.get("not_a_digit_shift", 0.0) > 0
    from mnist_desk.core.calibration import calibrate_logits

    raw_right = (digits.argmax(1) == labels).float().mean()
    read = calibrate_logits(digits, fitted).softmax(1)
    assert (read.argmax(1) == labels).float().mean() > max(raw_right, 0.95)  # digits given back
    others_read = calibrate_logits(others, fitted).softmax(1)
    assert (others_read[:, :10].max(1).values < 0.6).float().mean() > 0.95  # others not lost
    fair = digits.clone()
    fair[:, 10] = -5.0
    assert fit_not_a_digit_shift({"digits": (fair, labels), "others": (others, tens)}) == 0.0


def test_a_given_shift_is_kept_and_only_the_temperature_is_fitted():
    from mnist_desk.core.calibration import fit_calibration

    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(300, 11, generator=generator) * 3
    labels = torch.randint(0, 11, (300,), generator=generator)
    fitted = fit_calibration({"all": (logits, labels)}, 0.6, shift=1.75)
    assert fitted["not_a_digit_shift"] == 1.75 and 0.05 <= fitted["temperature"] <= 20
