"""Run folders and the runs table: never lost, never shared, never fatal when damaged."""

import json
import os
import subprocess
import sys

import pytest

from mnist_desk.core.runs import (
    RunFolderError,
    RunRecord,
    RunsTable,
    default_runs_table,
    new_run_dir,
    run_folder_lock,
)


def _record(out="/runs/a", **changes):
    values = dict(
        out=out,
        model="cnn",
        status="finished",
        best_path=f"{out}/best.pt",
        test_acc=0.98,
        val_acc=None,
        epochs_done=2,
        epochs=2,
        created="2026-11-25T10:00:00",
        config={"model": "cnn", "lr": 0.001, "optimizer": "adam"},
    )
    values.update(changes)
    return RunRecord(**values)


def test_upsert_replaces_by_folder_and_remove_drops_it(tmp_path):
    table = RunsTable(tmp_path / "runs.json")
    table.upsert(_record("/runs/a", status="running", test_acc=None))
    table.upsert(_record("/runs/b"))
    table.upsert(_record("/runs/a", test_acc=0.5))
    records, problems = table.load()
    assert problems == []
    assert [(r.out, r.status, r.test_acc) for r in records] == [
        ("/runs/b", "finished", 0.98),
        ("/runs/a", "finished", 0.5),
    ]
    table.remove("/runs/b")
    assert [r.out for r in table.load()[0]] == ["/runs/a"]


@pytest.mark.parametrize(
    ("content", "skipped"),
    [
        ('["x", 1]', 2),
        ("NaN", None),
        ("{not json", None),
        ('{"out": "/runs/a"}', None),
    ],
)
def test_damaged_files_are_reported_not_fatal(tmp_path, content, skipped):
    path = tmp_path / "runs.json"
    path.write_text(content)
    records, problems = RunsTable(path).load()
    assert records == []
    assert len(problems) == (skipped or 1)
    assert all(p.endswith(".") and "\n" not in p for p in problems)


def test_bad_entries_are_skipped_one_by_one_and_kept_in_the_file(tmp_path):
    path = tmp_path / "runs.json"
    good = json.loads(json.dumps(_record().__dict__))
    bad = [
        dict(good, out="/runs/nan", test_acc=float("nan")),
        dict(good, out="/runs/type", epochs="three"),
        dict(good, out="/runs/status", status="exploded"),
        dict(good, out=""),
    ]
    path.write_text(json.dumps([good, *bad]))
    table = RunsTable(path)
    records, problems = table.load()
    assert [r.out for r in records] == ["/runs/a"]
    assert len(problems) == 4
    assert "run '/runs/nan'" in problems[0] and "test_acc" in problems[0]
    assert "epochs" in problems[1] and "status" in problems[2]
    table.upsert(_record("/runs/new"))
    assert len(json.loads(path.read_text())) == 6  # nothing was thrown away


def test_an_unreadable_file_is_one_sentence(tmp_path):
    (tmp_path / "runs.json").mkdir()  # reading a folder fails for root too
    records, problems = RunsTable(tmp_path / "runs.json").load()
    assert records == [] and len(problems) == 1 and "could not be read" in problems[0]


def test_rows_of_the_older_train_tab_still_load(tmp_path):
    path = tmp_path / "runs.json"
    old = {
        "run": "cnn-20260101-000000",
        "model": "cnn",
        "epochs": 3,
        "optimizer": "adam",
        "lr": 0.001,
        "best test acc": 98.5,
        "time": "30s",
        "device": "cpu",
        "path": "/runs/cnn-20260101-000000/best.pt",
    }
    path.write_text(json.dumps([old]))
    (record,), problems = RunsTable(path).load()
    assert problems == []
    assert record.out == "/runs/cnn-20260101-000000" and record.status == "finished"
    assert record.test_acc == pytest.approx(0.985) and record.epochs_done == 3


def test_new_rows_keep_the_keys_the_older_train_tab_shows(tmp_path):
    table = RunsTable(tmp_path / "runs.json")
    table.upsert(_record("/runs/cnn-x"))
    (row,) = json.loads((tmp_path / "runs.json").read_text())
    assert row["run"] == "cnn-x" and row["path"] == "/runs/cnn-x/best.pt"
    assert row["best test acc"] == 98.0 and row["optimizer"] == "adam"


def test_the_default_table_lives_in_the_user_folder(isolated_home):
    assert default_runs_table().path == isolated_home / "data" / "runs" / "runs.json"


def test_new_run_folders_are_unique(tmp_path):
    first = new_run_dir(tmp_path, "cnn")
    second = new_run_dir(tmp_path, "cnn")
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.startswith("cnn-")


def test_one_writer_per_run_folder(tmp_path):
    with (
        run_folder_lock(tmp_path / "run"),
        pytest.raises(RunFolderError, match=f"process {os.getpid()}"),
        run_folder_lock(tmp_path / "run"),
    ):
        pass
    with run_folder_lock(tmp_path / "run"):  # released on exit
        pass
    assert not (tmp_path / "run" / ".lock").exists()


def test_the_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ".lock").write_text(dead.stdout.strip())
    with run_folder_lock(folder):
        assert (folder / ".lock").read_text() == str(os.getpid())
