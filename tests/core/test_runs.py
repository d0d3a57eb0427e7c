import json

import pytest

from mnist_desk.core.runs import RunRecord, RunsTable, default_runs_table, load_history


def test_upsert_replaces_the_row_of_the_same_folder(tmp_path):
    table = RunsTable(tmp_path / "runs.json")
    table.upsert(RunRecord(out="runs/a", model="cnn", epochs=3))
    table.upsert(RunRecord(out="runs/b", model="lenet5", epochs=2))
    table.upsert(RunRecord(out="runs/a", model="cnn", status="done", test_acc=0.98, epochs=3))
    records, problems = table.load()
    assert problems == [] and [r.out for r in records] == ["runs/b", "runs/a"]
    assert records[1].status == "done" and records[1].test_acc == 0.98
    table.remove("runs/b")
    assert [r.out for r in table.load()[0]] == ["runs/a"]


@pytest.mark.parametrize(
    "row",
    [
        "x",
        1,
        None,
        {"model": "cnn"},
        {"out": "r", "model": "cnn", "status": "exploded"},
        {"out": "r", "model": "cnn", "test_acc": "high"},
        {"out": "r", "model": "cnn", "test_acc": 98.5},
        {"out": "r", "model": "cnn", "epochs": -1},
        {"out": "r", "model": "cnn", "config": [1]},
    ],
)
def test_a_damaged_row_is_skipped_and_named(tmp_path, row):
    path = tmp_path / "runs.json"
    path.write_text(json.dumps([row, {"out": "good", "model": "cnn"}]))
    records, problems = RunsTable(path).load()
    assert [r.out for r in records] == ["good"]
    assert len(problems) == 1 and "run 1 of runs.json" in problems[0]


@pytest.mark.parametrize("text", ["{not json", '{"a": 1}', '"x"'])
def test_a_damaged_file_is_one_problem_not_a_crash(tmp_path, text):
    path = tmp_path / "runs.json"
    path.write_text(text)
    records, problems = RunsTable(path).load()
    assert records == [] and len(problems) == 1 and "runs.json" in problems[0]


def test_old_rows_from_the_train_tab_still_load(tmp_path):
    path = tmp_path / "runs.json"
    old = {
        "run": "cnn-1",
        "model": "cnn",
        "epochs": 2,
        "best test acc": 98.1,
        "path": "r/x/best.pt",
    }
    path.write_text(json.dumps([old]))
    (record,), problems = RunsTable(path).load()
    assert problems == [] and record.out == "r/x" and record.best_path == "r/x/best.pt"
    assert record.test_acc == pytest.approx(0.981) and record.status == "done"


def test_default_table_lives_in_the_runs_folder_and_history_is_read_safely(tmp_path):
    from mnist_desk.paths import runs_dir

    assert default_runs_table().path == runs_dir() / "runs.json"
    (tmp_path / "history.json").write_text(json.dumps([{"epoch": 1}, "junk"]))
    assert load_history(tmp_path) == [{"epoch": 1}]
    assert load_history(tmp_path / "missing") == []
