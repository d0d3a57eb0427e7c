"""The training engine's phases: cancel anywhere, NaN stops, resume, per-epoch snapshots."""

import pytest
import torch

from mnist_desk.core.checkpoint import load_checkpoint
from mnist_desk.core.config import TrainConfig
from mnist_desk.core.data import MnistData
from mnist_desk.core.errors import JobCancelled, UserError
from mnist_desk.core.runs import RunFolderError, RunsTable
from mnist_desk.core.train import evaluate, fit, resume_config


def _config(tmp_path, name="run", **overrides):
    values = dict(
        model="cnn",
        epochs=1,
        batch_size=64,
        lr=2e-3,
        device="cpu",
        seed=0,
        out=str(tmp_path / name),
    )
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def tiny_data(small_data):
    """600 training and 200 test digits: enough to see learning, quick on a shared CPU."""
    return MnistData(small_data.train.subset(600), None, small_data.test.subset(200))


class StopAfter:
    """``should_stop`` that turns true once ``armed`` and counts the checks made after that."""

    def __init__(self):
        self.armed = False
        self.checks_after = 0

    def __call__(self):
        if self.armed:
            self.checks_after += 1
        return self.armed


def test_cancel_while_loading_data_writes_nothing(tmp_path, mnist_root):
    calls = []

    def stop():  # false for the first check, true from the second: between the two files
        calls.append(1)
        return len(calls) > 1

    result = fit(_config(tmp_path, data=str(mnist_root)), should_stop=stop)
    assert result.cancelled and result.best_path is None and result.history == []
    assert len(calls) == 2  # the test file was never read after the flag
    assert not any((tmp_path / "run").glob("*.pt"))


def test_cancel_during_end_of_epoch_evaluation_stops_within_one_batch(tmp_path, tiny_data):
    stop = StopAfter()

    def on_progress(event):
        if event.kind == "batch" and event.batch == event.batches:
            stop.armed = True  # the last training batch is done: evaluation comes next

    result = fit(_config(tmp_path, epochs=2), on_progress, stop, data=tiny_data)
    assert result.cancelled and result.history == [] and result.best_path is None
    assert stop.checks_after == 1  # the first evaluation batch saw it and nothing ran after


def _cancel_in_first_epoch(config, tiny_data, table=None):
    stop = StopAfter()

    def on_progress(event):
        if event.kind == "batch":
            stop.armed = True  # batches ran: the first epoch is under way

    return fit(config, on_progress, stop, data=tiny_data, runs_table=table)


def test_a_cancel_before_the_first_epoch_leaves_no_folder_and_no_row(tmp_path, tiny_data):
    """As a failure there: nothing to use or resume, so no 'cancelled 0/N' row to clutter."""
    table = RunsTable(tmp_path / "runs.json")
    out = tmp_path / "new" / "deeper" / "run"
    config = _config(tmp_path, keep_epochs=True, out=str(out))
    result = _cancel_in_first_epoch(config, tiny_data, table)
    assert result.cancelled and result.history == [] and result.best_path is None
    assert not (tmp_path / "new").exists()  # every folder it made is gone again
    assert table.load() == ([], [])


def test_a_cancel_while_the_run_is_built_takes_its_snapshot_back(tmp_path, tiny_data, monkeypatch):
    """With snapshots on, building writes epoch_000.pt and then checks for a cancel."""
    import mnist_desk.core.train as train

    written = []
    save = train._save_epoch_snapshot
    monkeypatch.setattr(
        train, "_save_epoch_snapshot", lambda *a, **k: (save(*a, **k), written.append(1))[0]
    )
    table = RunsTable(tmp_path / "runs.json")
    out = tmp_path / "new" / "run"
    config = _config(tmp_path, keep_epochs=True, out=str(out))
    result = fit(config, should_stop=lambda: bool(written), data=tiny_data, runs_table=table)
    assert written and result.cancelled and result.best_path is None
    assert not (tmp_path / "new").exists()
    assert table.load() == ([], [])


@pytest.mark.parametrize("what_was_there", ["empty", "notes", "snapshot"])
def test_a_cancel_before_the_first_epoch_removes_only_what_the_run_made(
    tmp_path, tiny_data, what_was_there
):
    out = tmp_path / "mine"
    (out / "epochs").mkdir(parents=True)
    if what_was_there == "notes":
        (out / "notes.txt").write_text("keep me")
    if what_was_there == "snapshot":  # someone's file by the name the run would write
        (out / "epochs" / "epoch_000.pt").write_bytes(b"not the run's")
    _cancel_in_first_epoch(_config(tmp_path, keep_epochs=True, out=str(out)), tiny_data)
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    expected = {
        "empty": ["epochs"],
        "notes": ["epochs", "notes.txt"],
        "snapshot": ["epochs", "epochs/epoch_000.pt"],
    }[what_was_there]
    assert out.is_dir() and left == expected


def test_a_cancel_after_the_first_epoch_keeps_the_run_and_its_row(tmp_path, tiny_data):
    table = RunsTable(tmp_path / "runs.json")
    stop = StopAfter()

    def on_progress(event):
        if event.kind == "epoch":
            stop.armed = True

    config = _config(tmp_path, epochs=3, keep_epochs=True)
    result = fit(config, on_progress, stop, data=tiny_data, runs_table=table)
    assert result.cancelled and len(result.history) == 1
    (record,) = table.load()[0]
    assert record.status == "cancelled" and record.epochs_done == 1
    assert (tmp_path / "run" / "best.pt").exists()
    assert (tmp_path / "run" / "epochs" / "epoch_000.pt").exists()


def test_evaluate_can_be_cancelled(tiny_data):
    from mnist_desk.core.models import build_model

    with pytest.raises(JobCancelled):
        evaluate(build_model("cnn"), tiny_data.test, torch.device("cpu"), should_stop=lambda: True)


def test_a_diverging_run_stops_with_one_sentence_and_saves_no_nan_model(tmp_path, tiny_data):
    config = _config(tmp_path, optimizer="sgd", lr=1e12, epochs=2)
    with pytest.raises(UserError, match=r"loss became (NaN|infinite) at epoch 1, batch \d+"):
        fit(config, data=tiny_data)
    assert not (tmp_path / "run" / "best.pt").exists()
    assert not (tmp_path / "run" / "last.pt").exists()


def test_non_finite_settings_are_refused_before_training():
    for bad in (dict(lr=float("inf")), dict(lr=float("nan")), dict(gamma=float("nan"))):
        with pytest.raises(ValueError, match="must be a finite number"):
            TrainConfig(**bad)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (dict(train_subset=-10), "train subset must be at least 1"),
        (dict(test_subset=0), "test subset must be at least 1"),
        (dict(step_size=0), "step size must be at least 1"),
        (dict(label_smoothing=1.0), "label smoothing"),
        (dict(momentum=-0.1), "momentum must not be negative"),
    ],
)
def test_bad_settings_name_the_setting(values, message):
    with pytest.raises(UserError, match=message):
        TrainConfig(**values)


def test_a_resumed_run_ends_like_an_uninterrupted_one(tmp_path, tiny_data):
    data = tiny_data
    settings = dict(epochs=3, batch_size=100, schedule="step", step_size=1, gamma=0.5)
    whole = fit(_config(tmp_path, "whole", **settings), data=data)

    stop = StopAfter()

    def on_progress(event):
        if event.kind == "batch" and event.epoch == 2 and event.batch == 3:
            stop.armed = True

    first = fit(_config(tmp_path, "parts", **settings), on_progress, stop, data=data)
    assert first.cancelled and len(first.history) == 1
    last = load_checkpoint(tmp_path / "parts" / "last.pt")  # an ordinary checkpoint too
    assert last.metrics["epoch"] == 1
    config = resume_config(tmp_path / "parts")
    assert (config.epochs, config.batch_size, config.schedule) == (3, 100, "step")
    resumed = fit(config, data=data, resume=True)
    assert not resumed.cancelled
    assert [m["epoch"] for m in resumed.history] == [1, 2, 3]
    for a, b in zip(whole.history, resumed.history, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["test_acc"] == pytest.approx(a["test_acc"], abs=1e-3)
        assert b["lr"] == pytest.approx(a["lr"])
    best = load_checkpoint(resumed.best_path)
    assert best.metrics["test_acc"] == pytest.approx(whole.best_metrics["test_acc"], abs=1e-3)


def test_resume_refuses_a_finished_run_unless_given_more_epochs(tmp_path, tiny_data):
    fit(_config(tmp_path), data=tiny_data)
    with pytest.raises(RunFolderError, match="already finished its 1 epoch;"):
        resume_config(tmp_path / "run")
    more = resume_config(tmp_path / "run", epochs=2)
    result = fit(more, data=tiny_data, resume=True)
    assert [m["epoch"] for m in result.history] == [1, 2]
    with pytest.raises(RunFolderError, match="no last.pt"):
        resume_config(tmp_path)


def test_a_second_run_into_a_used_folder_is_refused_and_the_first_survives(tmp_path, tiny_data):
    first = fit(_config(tmp_path), data=tiny_data)
    before = first.best_path.read_bytes()
    with pytest.raises(RunFolderError, match="already holds a training run"):
        fit(_config(tmp_path, lr=1e-2), data=tiny_data)
    assert first.best_path.read_bytes() == before


def test_keep_epochs_saves_the_initial_weights_and_each_epoch(tmp_path, tiny_data):
    table = RunsTable(tmp_path / "runs.json")
    result = fit(_config(tmp_path, epochs=2, keep_epochs=True), data=tiny_data, runs_table=table)
    folder = tmp_path / "run" / "epochs"
    assert sorted(p.name for p in folder.iterdir()) == [
        "epoch_000.pt",
        "epoch_001.pt",
        "epoch_002.pt",
    ]
    snapshots = [load_checkpoint(folder / f"epoch_{n:03d}.pt") for n in range(3)]
    assert [s.metrics["epoch"] for s in snapshots] == [0, 1, 2]
    assert snapshots[2].metrics["test_acc"] == pytest.approx(result.history[1]["test_acc"])
    first_weight = next(iter(snapshots[0].state_dict))
    assert not torch.equal(
        snapshots[0].state_dict[first_weight], snapshots[1].state_dict[first_weight]
    )
    records, problems = table.load()
    assert problems == [] and len(records) == 1
    record = records[0]
    assert (record.status, record.epochs_done, record.epochs) == ("finished", 2, 2)
    assert record.test_acc == pytest.approx(result.best_metrics["test_acc"])
    assert record.best_path == str(result.best_path.resolve())
