import json

import pytest

from mnist_desk.core.checkpoint import load_checkpoint
from mnist_desk.core.config import TrainConfig
from mnist_desk.core.predict import Predictor
from mnist_desk.core.train import evaluate, fit


def _config(tmp_path, **overrides):
    values = dict(
        model="cnn",
        epochs=2,
        batch_size=64,
        lr=2e-3,
        optimizer="adam",
        device="cpu",
        out=str(tmp_path / "run"),
        seed=0,
    )
    values.update(overrides)
    return TrainConfig(**values)


def test_a_short_run_learns_and_writes_its_files(tmp_path, small_data):
    events = []
    result = fit(_config(tmp_path), on_progress=events.append, data=small_data)
    history = result.history
    assert len(history) == 2 and not result.cancelled
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.75  # chance is 0.10
    assert {"start", "batch", "epoch"} <= {e.kind for e in events}
    out = tmp_path / "run"
    assert json.loads((out / "history.json").read_text())[-1]["epoch"] == 2
    assert (out / "history.png").stat().st_size > 1000
    checkpoint = load_checkpoint(result.best_path)
    assert checkpoint.metrics["test_acc"] == pytest.approx(result.best_metrics["test_acc"])
    predictor = Predictor(checkpoint)
    images = small_data.test.images[:200].numpy() / 255.0
    accuracy = (
        predictor.probabilities(images).argmax(1) == small_data.test.labels[:200].numpy()
    ).mean()
    assert accuracy > 0.75


def test_same_seed_same_run(tmp_path, small_data):
    a = fit(_config(tmp_path, epochs=1, out=str(tmp_path / "a")), data=small_data)
    b = fit(_config(tmp_path, epochs=1, out=str(tmp_path / "b")), data=small_data)
    assert a.history[0]["train_loss"] == pytest.approx(b.history[0]["train_loss"], rel=1e-5)


def test_cancel_stops_within_one_batch_and_keeps_the_best(tmp_path, small_data):
    batches = []
    state = {"stop": False}

    def on_progress(event):
        if event.kind == "batch":
            batches.append((event.epoch, event.batch))
            if event.epoch == 2 and event.batch == 3:
                state["stop"] = True

    result = fit(_config(tmp_path, epochs=5), on_progress, lambda: state["stop"], data=small_data)
    assert result.cancelled
    assert batches[-1] == (2, 3)  # no batch ran after the flag was raised
    assert len(result.history) == 1
    assert load_checkpoint(result.best_path).metrics["epoch"] == 1


def test_sgd_with_step_schedule_and_validation_selection(tmp_path, mnist_root):
    from mnist_desk.core.data import load_mnist

    data = load_mnist(
        mnist_root, val_split=0.1, seed=0, train_subset=1500, test_subset=300, download=False
    )
    config = _config(
        tmp_path,
        model="lenet5",
        optimizer="sgd",
        lr=0.05,
        schedule="step",
        step_size=1,
        gamma=0.5,
        val_split=0.1,
        epochs=2,
        augment=True,
    )
    result = fit(config, data=data)
    assert result.best_metrics["selected_by"] == "val"
    assert "val_acc" in result.history[0]
    assert result.history[1]["lr"] == pytest.approx(0.05 * 0.25)


def test_evaluate_builds_a_consistent_confusion_matrix(tmp_path, small_data):
    result = fit(_config(tmp_path, epochs=1), data=small_data)
    from mnist_desk.core.device import select_device

    model = load_checkpoint(result.best_path).build()
    ev = evaluate(model, small_data.test, select_device("cpu"))
    matrix = ev.confusion_matrix()
    assert matrix.sum() == len(small_data.test)
    assert matrix.trace() / matrix.sum() == pytest.approx(ev.accuracy)
    assert len(ev.mistakes()) == matrix.sum() - matrix.trace()


def test_bad_settings_are_one_sentence():
    with pytest.raises(ValueError, match="epochs must be at least 1; optimizer must be one of"):
        TrainConfig(epochs=0, optimizer="rmsprop")


def test_highlight_explains_one_class_and_changes_with_it(shipped_checkpoint):
    """Issue 10.9: the pad's map is class-specific, not |gradient × ink| over all the ink."""
    import numpy as np

    from mnist_desk.core.handwriting import our_digit
    from mnist_desk.core.preprocess import strokes_to_mnist

    predictor = Predictor.from_path(shipped_checkpoint)
    image = strokes_to_mnist(*our_digit(7, "plain"))
    top = predictor.explain(image)
    assert top.target == 7 and top.heat.shape == (28, 28)
    assert np.abs(top.heat).max() == pytest.approx(1.0) and np.isfinite(top.heat).all()
    other = predictor.explain(image, 1)
    assert other.target == 1
    assert np.abs(top.heat - other.heat).mean() > 0.05
