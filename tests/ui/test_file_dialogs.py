"""Save, export and open-image dialogs start in a sensible, remembered folder.

The dialogs themselves are replaced (a native dialog would block the test); the clicks that
open them are real, and the folder the app hands the dialog is what is checked.
"""

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton, QToolBar

from tests.ui.conftest import draw_digit
from tests.ui.test_train_tab import _click_row, _fake_run


@pytest.fixture
def person(tmp_path, monkeypatch):
    """A home folder of one's own, as a new user has it: Pictures and Documents in it."""
    home = tmp_path / "person"
    for name in ("Pictures", "Documents"):
        (home / name).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))  # no user-dirs.dirs
    return home


class FakeDialogs:
    """Stands in for QFileDialog's static functions: notes where each dialog would start."""

    def __init__(self, monkeypatch, answer: Path | None):
        self.starts: list[str] = []
        self.answer = answer
        monkeypatch.setattr(QFileDialog, "getSaveFileName", self._ask)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", self._ask)

    def _ask(self, _parent, _title, start, _filter, *args, **kwargs):
        self.starts.append(start)
        return (str(self.answer) if self.answer else "", "")


def _button(tab, text: str) -> QPushButton:
    (button,) = [b for b in tab.findChildren(QPushButton) if b.text().startswith(text)]
    return button


def _first_export(qtbot, window, tab, button, dialogs, pictures: Path) -> None:
    """A first export from ``tab`` offers its default file name in Pictures."""
    window.tabs.setCurrentWidget(tab)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert len(dialogs.starts) == 1 and Path(dialogs.starts[0]).parent == pictures


def _select_a_run(qtbot, window, checkpoint) -> None:
    """Curves to export: a finished run, selected in the Train tab with a click."""
    _fake_run("earlier", checkpoint, 0.9)
    window.tabs.setCurrentWidget(window.train_tab)
    window.train_tab.refresh_table()
    _click_row(qtbot, window.train_tab.table, 0)


def _tool_button(window, action):
    return window.findChild(QToolBar, "drawing_toolbar").widgetForAction(action)


def test_exports_start_in_pictures_then_in_the_folder_used_last(
    qtbot, make_window, person, tmp_path, monkeypatch, mnist_root, shipped_checkpoint
):
    chosen = tmp_path / "my exports"
    chosen.mkdir()
    dialogs = FakeDialogs(monkeypatch, chosen / "curves.png")
    window = make_window()
    _select_a_run(qtbot, window, shipped_checkpoint)
    export = _button(window.train_tab, "Export curves")
    _first_export(qtbot, window, window.train_tab, export, dialogs, person / "Pictures")
    assert (chosen / "curves.png").is_file()  # the export itself still happens

    dialogs.answer = chosen / "matrix.png"
    mistakes = window.mistakes_tab
    window.tabs.setCurrentWidget(mistakes)
    window.train_tab.fields["data"].setText(str(mnist_root))
    mistakes.subset.selectAll()
    qtbot.keyClicks(mistakes.subset, "200")
    with qtbot.waitSignal(mistakes.evaluation_ended, timeout=120000):  # a matrix to export
        qtbot.mouseClick(mistakes.evaluate_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(_button(window.mistakes_tab, "Export matrix"), Qt.MouseButton.LeftButton)
    assert dialogs.starts[-1] == str(chosen / "confusion.png")
    assert (chosen / "matrix.png").is_file()

    window.tabs.setCurrentWidget(window.pad)
    draw_digit(qtbot, window.pad.canvas, 7)
    qtbot.waitUntil(lambda: window.pad.last_image is not None, timeout=20000)
    dialogs.answer = None  # the person cancels this one
    qtbot.mouseClick(_tool_button(window, window.save_action), Qt.MouseButton.LeftButton)
    assert dialogs.starts[-1] == str(chosen / "digit.png")
    window.close()

    again = make_window()  # the folder is remembered from one session to the next
    qtbot.mouseClick(_tool_button(again, again.open_image_action), Qt.MouseButton.LeftButton)
    assert dialogs.starts[-1] == str(chosen)


@pytest.mark.parametrize("missing", [("Pictures",), ("Pictures", "Documents")])
def test_the_first_export_falls_back_to_documents_then_home(
    qtbot, make_window, person, monkeypatch, missing, shipped_checkpoint
):
    for name in missing:
        (person / name).rmdir()
    dialogs = FakeDialogs(monkeypatch, None)
    window = make_window()
    _select_a_run(qtbot, window, shipped_checkpoint)
    qtbot.mouseClick(_button(window.train_tab, "Export curves"), Qt.MouseButton.LeftButton)
    folder = person if "Documents" in missing else person / "Documents"
    assert dialogs.starts == [str(folder / "curves.png")]


def test_the_network_view_export_starts_in_the_folder_used_last(
    qtbot, make_window, person, tmp_path, monkeypatch
):
    chosen = tmp_path / "views"
    chosen.mkdir()
    dialogs = FakeDialogs(monkeypatch, chosen / "view.png")
    window = make_window()
    export = window.network_tab.export_button
    _first_export(qtbot, window, window.network_tab, export, dialogs, person / "Pictures")
    assert (chosen / "view.png").is_file()
    qtbot.mouseClick(window.network_tab.export_button, Qt.MouseButton.LeftButton)
    assert dialogs.starts[-1] == str(chosen / "network.png")
