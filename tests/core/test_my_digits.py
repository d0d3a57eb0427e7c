import numpy as np
import pytest

from mnist_desk.core.handwriting import our_digit
from mnist_desk.core.my_digits import MyDigitStore


def _fill(store, digits=range(10), styles=("plain", "slanted", "thick")):
    for d in digits:
        for style in styles:
            strokes, pen = our_digit(d, style)
            store.add(strokes, pen, d)


def test_add_relabel_delete_round_trip_through_disk(tmp_path):
    store = MyDigitStore(tmp_path / "mine")
    strokes, pen = our_digit(4, "plain")
    added = store.add(strokes, pen, 4)
    again = MyDigitStore(tmp_path / "mine").all()  # a fresh store reads the files
    assert [(d.id, d.label) for d in again] == [(added.id, 4)]
    assert (tmp_path / "mine" / f"{added.id}.png").exists()
    np.testing.assert_allclose(again[0].image, added.image)
    store.relabel(added.id, 9)
    assert MyDigitStore(tmp_path / "mine").all()[0].label == 9
    store.delete(added.id)
    assert MyDigitStore(tmp_path / "mine").all() == []
    assert list((tmp_path / "mine").iterdir()) == []


def test_bad_input_is_refused(tmp_path):
    store = MyDigitStore(tmp_path)
    with pytest.raises(ValueError, match="0–9"):
        store.add([[(1, 1), (2, 2)]], 5, 12)
    with pytest.raises(ValueError, match="empty"):
        store.add([], 5, 1)


def test_an_unwritable_folder_gives_an_error_and_writes_nothing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = MyDigitStore(blocker / "mine")  # cannot be created, even as root
    strokes, pen = our_digit(1, "plain")
    with pytest.raises(OSError):
        store.add(strokes, pen, 1)
    assert blocker.read_text() == "not a folder"


def test_a_damaged_file_is_skipped(tmp_path):
    store = MyDigitStore(tmp_path)
    _fill(store, digits=[1], styles=["plain"])
    (tmp_path / "broken.json").write_text("{not json")
    assert len(store.all()) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"pen_width": float("nan")},
        {"pen_width": "thick"},
        {"pen_width": -3},
        {"strokes": "abc"},
        {"strokes": [[[1, "y"]]]},
        {"strokes": []},
        {"label": 12},
        {"label": "7"},
        {"id": "someone-else"},
    ],
)
def test_a_file_with_a_bad_field_is_skipped_and_named(tmp_path, change):
    import json

    store = MyDigitStore(tmp_path)
    _fill(store, digits=[1], styles=["plain"])
    strokes, pen = our_digit(4, "plain")
    values = {"id": "bad", "label": 4, "strokes": strokes, "pen_width": pen, "created": ""}
    values.update(change)
    (tmp_path / "bad.json").write_text(json.dumps(values))
    digits, problems = store.load()
    assert [d.label for d in digits] == [1]  # the good digit is still there
    assert len(problems) == 1 and problems[0].startswith("bad.json")
    store.arrays(digits)  # and everything after loading works


def test_fine_tune_refuses_too_few_digits_in_plain_words(tmp_path):
    from mnist_desk.core.config import TrainConfig
    from mnist_desk.core.errors import UserError
    from mnist_desk.core.finetune import fine_tune

    store = MyDigitStore(tmp_path)
    _fill(store, digits=range(6), styles=["plain"])
    config = TrainConfig(out=str(tmp_path / "run"))
    with pytest.raises(UserError, match="at least 10 .* you have 6"):
        fine_tune("unused.pt", store, config)
    _fill(store, digits=range(6), styles=["slanted"])
    _fill(store, digits=[9], styles=["plain"])  # a 9 kept once: nothing of it to hold out
    with pytest.raises(UserError, match="9 has only one"):
        fine_tune("unused.pt", store, config)


def test_split_holds_out_some_of_every_label(tmp_path):
    store = MyDigitStore(tmp_path)
    _fill(store)
    train, held = store.split(holdout=0.34, seed=0)
    assert len(train) + len(held) == 30
    assert {d.label for d in held} == set(range(10))
    assert not {d.id for d in train} & {d.id for d in held}


def test_fine_tuning_on_my_digits_raises_accuracy_on_them(tmp_path, mnist_root):
    """A weak model (trained briefly) learns our handwriting from a handful of digits."""
    from mnist_desk.core.config import TrainConfig
    from mnist_desk.core.finetune import fine_tune
    from mnist_desk.core.train import fit

    base = fit(
        TrainConfig(
            model="cnn",
            epochs=1,
            train_subset=300,
            test_subset=300,
            lr=2e-3,
            data=str(mnist_root),
            out=str(tmp_path / "base"),
            device="cpu",
        )
    )
    store = MyDigitStore(tmp_path / "mine")
    _fill(store, styles=("plain", "slanted", "thick", "thin", "wide", "small"))
    config = TrainConfig(
        model="cnn",
        epochs=2,
        lr=1e-3,
        train_subset=300,
        test_subset=300,
        data=str(mnist_root),
        out=str(tmp_path / "tuned"),
        device="cpu",
    )
    report = fine_tune(str(base.best_path), store, config, holdout=0.34)
    assert report.trained_on + report.held_out == 60
    assert report.mine_after > report.mine_before
    assert report.mnist_after > 0.5  # it still reads MNIST


def _untrained_checkpoint(path):
    from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict, save_checkpoint
    from mnist_desk.core.models import build_model

    return save_checkpoint(Checkpoint("cnn", clean_state_dict(build_model("cnn"))), path)


def _tune_config(tmp_path, mnist_root, **changes):
    from mnist_desk.core.config import TrainConfig

    values = dict(
        model="cnn",
        epochs=1,
        train_subset=200,
        test_subset=1200,
        data=str(mnist_root),
        out=str(tmp_path / "tuned"),
        device="cpu",
    )
    return TrainConfig(**{**values, **changes})


def test_fine_tuning_evaluates_in_batches_and_names_the_digits_it_used(
    tmp_path, mnist_root, monkeypatch
):
    import json

    from mnist_desk.core.checkpoint import load_checkpoint
    from mnist_desk.core.finetune import fine_tune
    from mnist_desk.core.predict import Predictor

    sizes = []
    real = Predictor.probabilities

    def spy(self, images):
        sizes.append(len(images))
        return real(self, images)

    monkeypatch.setattr(Predictor, "probabilities", spy)
    store = MyDigitStore(tmp_path / "mine")
    _fill(store, styles=("plain",))
    base = _untrained_checkpoint(tmp_path / "base.pt")
    report = fine_tune(str(base), store, _tune_config(tmp_path, mnist_root), holdout=0.0)
    assert max(sizes) <= 500 < 1200  # never the whole test set in one forward pass
    assert sum(sizes) == 2 * 1200  # before and after, every digit once
    recorded = load_checkpoint(report.result.best_path).train_config["extra_train"]
    assert recorded == "my digits (10 digits)"
    summary = json.loads((tmp_path / "tuned" / "summary.json").read_text())
    assert summary["config"]["extra_train"] == "my digits (10 digits)"


@pytest.mark.parametrize("stop_at", [1, 2, 3, 5])
def test_fine_tuning_can_be_cancelled_in_every_phase(tmp_path, mnist_root, stop_at):
    """Calls 1-4: before each of the four MNIST files; 5+: the before-evaluation batches."""
    from mnist_desk.core.errors import JobCancelled
    from mnist_desk.core.finetune import fine_tune

    store = MyDigitStore(tmp_path / "mine")
    _fill(store, styles=("plain",))
    base = _untrained_checkpoint(tmp_path / "base.pt")
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) >= stop_at

    with pytest.raises(JobCancelled):
        fine_tune(
            str(base),
            store,
            _tune_config(tmp_path, mnist_root),
            should_stop=should_stop,
            holdout=0.0,
        )
    assert len(calls) == stop_at  # it stopped at the first check that said so
    assert not (tmp_path / "tuned" / "best.pt").exists()


def _cancel_fine_tune_at(kind, tmp_path, mnist_root, table):
    """Fine-tune for 3 epochs and cancel at the first progress event of this kind."""
    from mnist_desk.core.finetune import fine_tune

    store = MyDigitStore(tmp_path / "mine")
    _fill(store, styles=("plain", "slanted"))
    base = _untrained_checkpoint(tmp_path / "base.pt")
    asked = []
    config = _tune_config(tmp_path, mnist_root, epochs=3, test_subset=200, keep_epochs=True)
    return fine_tune(
        str(base),
        store,
        config,
        on_progress=lambda event: event.kind == kind and asked.append(1),
        should_stop=lambda: bool(asked),
        runs_table=table,
    )


def test_a_fine_tune_cancelled_after_an_epoch_keeps_its_run_like_training(tmp_path, mnist_root):
    """Its row counts the epochs done and names its best.pt, as a cancelled training run's."""
    from mnist_desk.core.checkpoint import load_checkpoint
    from mnist_desk.core.runs import RunsTable

    table = RunsTable(tmp_path / "runs.json")
    report = _cancel_fine_tune_at("epoch", tmp_path, mnist_root, table)
    assert report.cancelled and report.result.cancelled and len(report.result.history) == 1
    assert report.mnist_after is None and report.mine_after is None  # not scored: cancelled
    (record,) = table.load()[0]
    assert record.status == "cancelled" and record.epochs_done == 1
    assert record.best_path == str((tmp_path / "tuned" / "best.pt").resolve())
    assert load_checkpoint(record.best_path).metrics["epoch"] == 1
    label = f"my digits ({report.trained_on} digits)"
    assert record.config["extra_train"] == label  # not the temporary file, gone by now


def test_a_fine_tune_cancelled_in_its_first_epoch_leaves_nothing(tmp_path, mnist_root):
    from mnist_desk.core.errors import JobCancelled
    from mnist_desk.core.runs import RunsTable

    table = RunsTable(tmp_path / "runs.json")
    with pytest.raises(JobCancelled):
        _cancel_fine_tune_at("batch", tmp_path, mnist_root, table)
    assert not (tmp_path / "tuned").exists() and table.load() == ([], [])
