"""``mnist-desk train``: options generated from TrainConfig, runs never lost, resume."""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from mnist_desk.cli import _train_flag, build_parser, main
from mnist_desk.core.config import TrainConfig
from mnist_desk.core.runs import default_runs_table

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = {"bool": None, "int": "3", "float": "0.25", "str": "x", "dict": "k=v"}


def _sample(f) -> list[str]:
    if "choices" in f.metadata:
        return [f.metadata["choices"][-1]]
    kind = str(f.type).split(" | ")[0].split("[")[0]
    return [] if kind == "bool" else [SAMPLE[kind]]


@pytest.mark.parametrize("f", fields(TrainConfig), ids=lambda f: f.name)
def test_every_train_config_field_is_a_train_option(f):
    """Fails when a TrainConfig field has no ``mnist-desk train`` option."""
    assert f.metadata.get("help"), f"TrainConfig.{f.name} needs metadata help text"
    args = build_parser().parse_args(["train", _train_flag(f.name), *_sample(f)])
    assert hasattr(args, f.name)


def test_the_recipes_options_still_exist():
    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions if a.dest == "command")
    known = set(train.choices["train"]._option_string_actions)
    used = set()
    for recipe in (ROOT / "training").glob("*.sh"):
        commands = recipe.read_text().replace("\\\n", " ").splitlines()
        for command in commands:  # only the `mnist-desk train` commands, not other scripts
            if "${TRAIN[@]}" in command or "mnist-desk train" in command:
                used |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", command))
    assert used, "no recipes found"
    assert used <= known, f"recipes use options train lacks: {sorted(used - known)}"


def _train(mnist_root, *extra):
    base = ["train", "--arch", "cnn", "--epochs", "1", "--train-subset", "300"]
    base += ["--test-subset", "100", "--device", "cpu", "--data", str(mnist_root)]
    return main(base + list(extra))


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_an_infinite_learning_rate_is_one_line_and_writes_nothing(tmp_path, capsys, mnist_root):
    assert _train(mnist_root, "--lr", "inf", "--out", str(tmp_path / "run")) == 2
    assert "learning rate must be a finite number" in _one_line(capsys)
    assert not (tmp_path / "run").exists()


def test_a_diverging_run_exits_2_without_a_nan_model(tmp_path, capsys, mnist_root, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _train(mnist_root, "--lr", "1e12", "--optimizer", "sgd")
    assert code == 2
    assert re.search(r"loss became (NaN|infinite) at epoch 1, batch \d+", _one_line(capsys))
    assert list((tmp_path / "runs").iterdir()) == []  # no NaN model, no empty run folder left
    assert default_runs_table().load() == ([], [])  # nor a "failed" row for a run never made


def test_a_run_failing_at_once_into_a_new_out_leaves_no_folder_and_no_row(
    tmp_path, capsys, mnist_root
):
    out = tmp_path / "new" / "deeper" / "run"
    code = main(["train", "--data", str(tmp_path / "no-mnist"), "--out", str(out)])
    assert code == 2 and "is unusable" in _one_line(capsys)
    assert not (tmp_path / "new").exists()  # every folder it made is gone again
    assert default_runs_table().load() == ([], [])


def test_a_run_failing_in_its_first_epoch_takes_its_initial_snapshot_too(
    tmp_path, capsys, mnist_root
):
    out = tmp_path / "run"
    args = ["--lr", "1e12", "--optimizer", "sgd", "--keep-epochs", "--out", str(out)]
    assert _train(mnist_root, *args) == 2
    assert "loss became" in _one_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize("other_file", [False, True])
def test_a_failed_run_never_removes_a_folder_that_was_there(
    tmp_path, capsys, mnist_root, other_file
):
    out = tmp_path / "mine"
    out.mkdir()
    if other_file:
        (out / "notes.txt").write_text("keep me")
    args = ["--lr", "1e12", "--optimizer", "sgd", "--keep-epochs", "--out", str(out)]
    assert _train(mnist_root, *args) == 2
    left = sorted(p.name for p in out.iterdir())
    assert out.is_dir() and left == (["notes.txt"] if other_file else [])


def test_runs_get_their_own_folder_are_listed_and_can_be_resumed(
    tmp_path, capsys, mnist_root, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert _train(mnist_root) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("cnn-") and (run / "best.pt").exists()
    (record,) = default_runs_table().load()[0]
    assert (record.out, record.status, record.epochs_done) == (str(run.resolve()), "finished", 1)
    capsys.readouterr()

    # Another run into the same folder is refused; the first run's files stay as they were.
    best = (run / "best.pt").read_bytes()
    assert _train(mnist_root, "--out", str(run), "--lr", "0.01") == 2
    assert "already holds a training run" in _one_line(capsys)
    assert (run / "best.pt").read_bytes() == best

    assert main(["train", "--resume", str(run), "--lr", "0.01"]) == 2
    assert "--lr cannot be given with it" in _one_line(capsys)

    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    assert "Resuming cnn" in capsys.readouterr().out
    (record,) = default_runs_table().load()[0]
    assert (record.status, record.epochs_done, record.epochs) == ("finished", 2, 2)
    assert record.created  # kept from the first part of the run


def test_ctrl_c_before_the_first_epoch_leaves_no_row_pointing_at_nothing(tmp_path, mnist_root):
    from mnist_desk.core.runs import RunsTable
    from mnist_desk.core.train import fit

    def interrupt(event):
        if event.kind == "batch":
            raise KeyboardInterrupt

    out = tmp_path / "fresh" / "run"
    table = RunsTable(tmp_path / "runs.json")
    config = TrainConfig(model="cnn", epochs=1, train_subset=300, test_subset=100, seed=0)
    config = TrainConfig(**{**config.to_dict(), "data": str(mnist_root), "out": str(out)})
    with pytest.raises(KeyboardInterrupt):
        fit(config, on_progress=interrupt, runs_table=table)
    assert not (tmp_path / "fresh").exists() and table.load() == ([], [])


def _fine_tune_into(tmp_path, mnist_root):
    """A real, finished fine-tune on ten of "the person's" digits, listed in the runs table:
    its folder and its report."""
    from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict, save_checkpoint
    from mnist_desk.core.finetune import fine_tune
    from mnist_desk.core.handwriting import our_digit
    from mnist_desk.core.models import build_model
    from mnist_desk.core.my_digits import MyDigitStore

    store = MyDigitStore(tmp_path / "mine")
    for digit in range(10):
        store.add(*our_digit(digit, "plain"), digit)
    base = Checkpoint("cnn", clean_state_dict(build_model("cnn")))
    base = save_checkpoint(base, tmp_path / "base.pt")
    out = tmp_path / "tuned"
    config = TrainConfig(
        model="cnn", epochs=1, train_subset=200, test_subset=100, device="cpu", seed=0
    )
    config = TrainConfig(**{**config.to_dict(), "data": str(mnist_root), "out": str(out)})
    report = fine_tune(str(base), store, config, holdout=0.0, runs_table=default_runs_table())
    return out, report


def _fine_tuned_run(tmp_path, mnist_root) -> Path:
    return _fine_tune_into(tmp_path, mnist_root)[0]


def test_resuming_a_fine_tune_is_refused_in_one_line_and_changes_nothing(
    tmp_path, capsys, mnist_root
):
    """As the Train tab refuses it (one rule, core's ``resume_refusal``): its digits are gone."""
    out = _fine_tuned_run(tmp_path, mnist_root)
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    code = main(["train", "--resume", str(out), "--epochs", "2", "--data", str(mnist_root)])
    assert code == 2
    assert "A fine-tune cannot be resumed" in _one_line(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    (record,) = default_runs_table().load()[0]
    assert (record.status, record.epochs_done) == ("finished", 1)  # not marked "failed"


def test_a_refused_resume_through_fit_keeps_the_rows_status(tmp_path, mnist_root):
    """``fit(resume=True)`` itself (the Train tab's path) refuses before touching the row."""
    from mnist_desk.core.runs import RunFolderError
    from mnist_desk.core.train import fit

    out = _fine_tuned_run(tmp_path, mnist_root)
    config = TrainConfig.from_dict(default_runs_table().load()[0][0].config)
    config = TrainConfig(**{**config.to_dict(), "epochs": 2})
    with pytest.raises(RunFolderError, match="fine-tune cannot be resumed"):
        fit(config, resume=True, runs_table=default_runs_table())
    assert default_runs_table().get(str(out.resolve())).status == "finished"


def make_runs_table_unwritable(monkeypatch):
    """Every write of runs.json fails as on a full disk; checkpoints still save (the CLI's
    and the Train tab's tests share it)."""
    from mnist_desk.core import checkpoint

    real = checkpoint.atomic_write_bytes

    def write(path, fill):
        if Path(path).name == "runs.json":
            raise OSError(28, "No space left on device")
        return real(path, fill)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", write)


def test_a_runs_table_that_cannot_be_written_is_a_warning_not_a_failure(
    tmp_path, capsys, mnist_root, monkeypatch
):
    make_runs_table_unwritable(monkeypatch)
    out = tmp_path / "run"
    assert _train(mnist_root, "--out", str(out)) == 0
    (warning,) = capsys.readouterr().err.strip().splitlines()
    assert warning.startswith("mnist-desk train: warning: The runs list ")
    assert "could not be updated (No space left on device)" in warning
    assert f"the checkpoint {out / 'best.pt'} is saved." in warning
    assert (out / "best.pt").exists() and default_runs_table().load() == ([], [])


def test_a_fine_tunes_last_runs_table_write_that_fails_is_said(tmp_path, mnist_root, monkeypatch):
    """The fine-tune names its digits in the table after the run; when only that write fails,
    the result says so, with the checkpoint that holds the run (as fit does)."""
    from mnist_desk.core.runs import RunsTable

    real = RunsTable.upsert

    def refuse_the_label(self, record):
        if str(record.config.get("extra_train", "")).startswith("my digits"):
            raise OSError(30, "Read-only file system")
        return real(self, record)

    monkeypatch.setattr(RunsTable, "upsert", refuse_the_label)
    out, report = _fine_tune_into(tmp_path, mnist_root)
    (record,) = default_runs_table().load()[0]
    assert record.status == "finished"  # fit's own writes went through
    problem = report.result.runs_table_problem
    assert "could not be updated (Read-only file system)" in problem
    assert problem.endswith(f"; the checkpoint {out / 'best.pt'} is saved.")


def test_a_runs_table_that_works_again_by_the_end_gives_no_warning(
    tmp_path, capsys, mnist_root, monkeypatch
):
    from mnist_desk.core import checkpoint

    real, calls = checkpoint.atomic_write_bytes, []

    def first_write_fails(path, fill):
        if Path(path).name == "runs.json":
            calls.append(path)
            if len(calls) == 1:
                raise OSError(28, "No space left on device")
        return real(path, fill)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", first_write_fails)
    assert _train(mnist_root, "--out", str(tmp_path / "run")) == 0
    assert "warning" not in capsys.readouterr().err
    assert default_runs_table().load()[0][0].status == "finished"


# ----- hostile probing: every case ends in one line and loses nothing ----------------------
def test_a_batch_too_large_for_memory_is_one_line_and_leaves_nothing(
    tmp_path, capsys, mnist_root, monkeypatch
):
    from mnist_desk.core import train

    def no_memory(*_args, **_kwargs):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 1505280000 bytes."
        )

    monkeypatch.setattr(train, "_step", no_memory)
    out = tmp_path / "run"
    assert _train(mnist_root, "--batch-size", "1000000000", "--out", str(out)) == 2
    line = _one_line(capsys)
    assert "A batch of 1,000,000,000 digits did not fit in memory" in line
    assert not out.exists() and default_runs_table().load() == ([], [])


def test_a_resumed_run_out_of_memory_is_told_to_start_anew(
    tmp_path, capsys, mnist_root, monkeypatch
):
    """Resuming keeps the run's batch size: "choose a smaller batch size" could not be done."""
    from mnist_desk.core import train

    out = tmp_path / "run"
    assert _train(mnist_root, "--out", str(out)) == 0

    def no_memory(*_args, **_kwargs):
        raise MemoryError

    monkeypatch.setattr(train, "_step", no_memory)
    capsys.readouterr()
    code = main(["train", "--resume", str(out), "--epochs", "2", "--data", str(mnist_root)])
    assert code == 2
    line = _one_line(capsys)
    assert "did not fit in memory; start a new run with a smaller one" in line
    assert "choose a smaller batch size" not in line


def test_a_bug_that_is_not_about_memory_still_raises(tmp_path, mnist_root, monkeypatch):
    from mnist_desk.core import train

    def bug(*_args, **_kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(train, "_step", bug)
    with pytest.raises(RuntimeError, match="shapes"):
        _train(mnist_root, "--out", str(tmp_path / "run"))


def _cancelled_after_one_epoch(tmp_path, mnist_root, monkeypatch, capsys) -> Path:
    """Ctrl+C while the second epoch is being scored: `train` exits 130 with one line."""
    from mnist_desk.core import train

    real, calls = train.evaluate_epoch, []

    def interrupted_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "evaluate_epoch", interrupted_on_the_second)
    out = tmp_path / "run"
    assert _train(mnist_root, "--epochs", "3", "--out", str(out)) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "Interrupted."
    monkeypatch.setattr(train, "evaluate_epoch", real)
    return out


def test_ctrl_c_in_the_middle_keeps_the_first_epoch_and_the_run_resumes(
    tmp_path, capsys, mnist_root, monkeypatch
):
    out = _cancelled_after_one_epoch(tmp_path, mnist_root, monkeypatch, capsys)
    (record,) = default_runs_table().load()[0]
    assert (record.status, record.epochs_done, record.epochs) == ("cancelled", 1, 3)
    assert (out / "best.pt").exists() and (out / "last.pt").exists()
    assert main(["train", "--resume", str(out)]) == 0
    (record,) = default_runs_table().load()[0]
    assert (record.status, record.epochs_done) == ("finished", 3)


def test_a_resume_whose_runs_row_is_missing_lists_the_run_again(
    tmp_path, capsys, mnist_root, monkeypatch
):
    out = _cancelled_after_one_epoch(tmp_path, mnist_root, monkeypatch, capsys)
    default_runs_table().remove(str(out.resolve()))
    assert main(["train", "--resume", str(out)]) == 0
    (record,) = default_runs_table().load()[0]
    assert (record.out, record.status, record.epochs_done) == (str(out.resolve()), "finished", 3)


@pytest.mark.parametrize("cut", [0, 1000])
def test_a_truncated_last_pt_is_one_line_and_the_run_stays_as_it_was(
    tmp_path, capsys, mnist_root, monkeypatch, cut
):
    """Through the CLI and through ``fit`` (the Train tab's Resume): the row is not touched."""
    from mnist_desk.core.checkpoint import CheckpointError
    from mnist_desk.core.train import fit

    out = _cancelled_after_one_epoch(tmp_path, mnist_root, monkeypatch, capsys)
    last = out / "last.pt"
    last.write_bytes(last.read_bytes()[:cut])
    best = (out / "best.pt").read_bytes()
    assert main(["train", "--resume", str(out)]) == 2
    assert "last.pt" in _one_line(capsys)
    (record,) = default_runs_table().load()[0]
    with pytest.raises(CheckpointError):
        fit(TrainConfig.from_dict(record.config), resume=True, runs_table=default_runs_table())
    assert default_runs_table().load()[0][0].status == "cancelled"  # still offered for Resume
    assert (out / "best.pt").read_bytes() == best


@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_a_run_folder_that_is_a_file_or_a_pipe_is_one_line(tmp_path, capsys, mnist_root, kind):
    import os

    path = tmp_path / "run"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_text("mine")
    assert _train(mnist_root, "--out", str(path)) == 2
    assert str(path) in _one_line(capsys)
    assert main(["train", "--resume", str(path)]) == 2
    assert "is not a run folder" in _one_line(capsys)
    assert path.is_fifo() if kind == "fifo" else path.read_text() == "mine"
    assert default_runs_table().load() == ([], [])


@pytest.mark.parametrize("resume", [False, True])
def test_a_second_train_into_a_folder_in_use_is_refused(
    tmp_path, capsys, mnist_root, monkeypatch, resume
):
    """Another live process holds the folder's lock (a first run still loading its data, so
    no run file yet; or a resume): refused in one line, nothing changed."""
    import subprocess
    import sys

    from mnist_desk.core.runs import LOCK_NAME

    if resume:
        out = _cancelled_after_one_epoch(tmp_path, mnist_root, monkeypatch, capsys)
    else:
        out = tmp_path / "fresh"
        out.mkdir()
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    rows = default_runs_table().path.read_bytes() if resume else None
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK_NAME).write_text(str(other.pid))
        code = (
            main(["train", "--resume", str(out)])
            if resume
            else _train(mnist_root, "--out", str(out))
        )
        assert code == 2
        assert f"Another training run (process {other.pid}) is writing to" in _one_line(capsys)
    finally:
        other.kill()
        other.wait()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != LOCK_NAME} == files
    if resume:
        assert default_runs_table().path.read_bytes() == rows
    else:
        assert default_runs_table().load() == ([], [])
