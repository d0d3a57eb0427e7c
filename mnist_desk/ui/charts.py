"""Chart widgets on pyqtgraph: probability bars, training curves, a clickable heat map."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPalette
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from mnist_desk.ui.messages import read_as

pg.setConfigOptions(antialias=True)


def _theme_colours() -> tuple[QColor, QColor]:
    palette = QApplication.palette()
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)


def _style_plot(plot: pg.PlotWidget) -> None:
    background, text = _theme_colours()
    plot.setBackground(background)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(text)
        axis.setTextPen(text)
        # Epochs 1..3 must not read as "epoch (x0.001)": no SI-prefix rescaling of any axis.
        axis.enableAutoSIPrefix(False)


def _faint(text: QColor) -> QColor:
    """The theme's text colour, see-through: an empty chart's sentence, not data."""
    return QColor(text.red(), text.green(), text.blue(), 150)


def restyle_charts(root: QWidget) -> None:
    """Recolour every chart under ``root`` after the palette changed (theme switch)."""
    for plot in root.findChildren(pg.PlotWidget):
        _style_plot(plot)
        if isinstance(plot, ProbabilityBars):
            plot.restyle()
        elif isinstance(plot, CurvesPlot):
            plot.update_title()
            plot.show_empty(plot._empty_text.textItem.toPlainText())


def _static_plot(plot: pg.PlotWidget) -> None:
    """A chart that shows, not one to pan and zoom: no mouse, no context menu, no buttons."""
    _style_plot(plot)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    _no_tab_stop(plot)


def _no_tab_stop(plot: pg.PlotWidget) -> None:
    """A chart does nothing with keys and draws no focus: as a Tab stop it only made the
    focus vanish. (Its cells, classes and runs are also reachable by combo boxes and lists.)"""
    plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)


def export_png(widget: QWidget, parent: QWidget | None = None, path: str | None = None) -> str:
    """Save a chart as PNG (asks for a file name unless ``path`` is given)."""
    if path is None:
        path, _ = QFileDialog.getSaveFileName(parent, "Export chart", "chart.png", "PNG (*.png)")
    if path:
        widget.grab().save(path, "PNG")
    return path or ""


class ProbabilityBars(pg.PlotWidget):
    """Horizontal bars of the top-k digits, highest on top, with percentages."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _static_plot(self)
        self.setXRange(0, 1.0, padding=0.02)
        self.getAxis("bottom").setLabel("probability")
        self.setMinimumHeight(160)
        self._bars = pg.BarGraphItem(
            x0=[], y=[], height=0.7, width=[], brush="#3b82f6", pen=pg.mkPen(None)
        )
        self.addItem(self._bars)
        _, text = _theme_colours()
        # Ten labels made once and reused: rebuilding items on every drawing is what made the
        # GUI thread (and, through the GIL, the inference thread) slow.
        self._labels = [pg.TextItem("", color=text, anchor=(0, 0.5)) for _ in range(10)]
        for label in self._labels:
            label.hide()
            self.addItem(label)
        # An empty pad shows a sentence, not ten empty rows: a row of zero bars (or a dash)
        # reads as data on a first look.
        self._empty_text = pg.TextItem("", color=text, anchor=(0.5, 0.5))
        self._empty_text.hide()
        self.addItem(self._empty_text)
        self.values: list[tuple[int, float]] = []
        self._with_numbers = True
        self._message = ""  # the empty chart's sentence ("" while bars are shown)
        self._stale = False  # values changed while the chart was on a hidden tab
        self._inside: list[tuple[bool, str] | None] = [None] * 10
        self._shown_k = -1

    def restyle(self) -> None:
        self._draw()

    def set_top_k(self, ranked: list[tuple[int, float]], numbers: bool = True) -> None:
        self.values = list(ranked)
        self._with_numbers = numbers
        self._message = ""
        self._draw_when_seen()

    def show_empty(self, message: str = "Draw a digit to see its probabilities.") -> None:
        """No bars and no digit ticks, only ``message`` in the middle of the chart."""
        self.values = []
        self._message = message
        self._draw_when_seen()

    def empty_message(self) -> str:
        """The sentence shown instead of bars ("" while bars are shown)."""
        return self._message

    def _draw_when_seen(self) -> None:
        """Draw now, or when shown again if the chart sits on a hidden tab of a shown window.

        The Draw tab's chart gets every answer while the Network tab is on screen: drawing
        it there cost the GUI thread ~2 ms a drawing that nobody saw, on the way to both the
        pad's answer and the network view.
        """
        if self.isVisible() or not self.window().isVisible():
            self._stale = False
            self._draw()
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802
        if self._stale:
            self._stale = False
            self._draw()
        super().showEvent(event)

    def _draw(self) -> None:
        if self._message:
            self._draw_empty(self._message)
        else:
            self._draw_bars(self.values, self._with_numbers)

    def _draw_bars(self, ranked: list[tuple[int, float]], numbers: bool) -> None:
        self._empty_text.hide()
        n = len(ranked)
        ys = list(range(n - 1, -1, -1))
        widths = [p for _, p in ranked]
        brushes = ["#16a34a" if i == 0 else "#3b82f6" for i in range(n)]
        self._bars.setOpts(x0=[0] * n, y=ys, width=widths, height=0.7, brushes=brushes)
        # Class 10 of an 11-class model is "not a digit": "?", as in the gallery and number panel.
        names = [read_as(d, short=True) for d, _ in ranked]
        self.getAxis("left").setTicks([list(zip(ys, names, strict=True))])
        if n != self._shown_k:
            self.setYRange(-0.6, max(n - 0.4, 0.4), padding=0)
            self._shown_k = n
        _, text = _theme_colours()
        for i, label in enumerate(self._labels):
            if i < n and numbers:
                p = ranked[i][1]
                label.setText(f"{p * 100:.1f}%")
                # A long bar carries its number inside (right-aligned, white), so "93.2%" is
                # never pushed past the plot's edge however narrow the panel is.
                inside = p >= 0.5
                if self._inside[i] != (inside, text.name()):  # restyling text costs: only on change
                    self._inside[i] = (inside, text.name())
                    label.setAnchor((1, 0.5) if inside else (0, 0.5))
                    label.setColor("w" if inside else text)
                label.setPos(p - 0.01 if inside else p + 0.01, ys[i])
                label.show()
            else:
                label.hide()

    def _draw_empty(self, message: str) -> None:
        self._draw_bars([], True)
        self.setYRange(0, 1, padding=0)
        self._shown_k = -1  # the next answer sets its own range again
        _, text = _theme_colours()
        self._empty_text.setColor(_faint(text))
        self._empty_text.setText(message)
        self._empty_text.setPos(0.5, 0.5)
        self._empty_text.show()


class _EpochAxis(pg.AxisItem):
    """Epochs are whole numbers: ticks at 1, 2, 3…, never at 1.5 (per-batch points still sit
    between them)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph's names)
        levels = super().tickSpacing(minVal, maxVal, size)
        whole = [(spacing, offset) for spacing, offset in levels if spacing >= 1]
        return whole or [(1.0, 0.0)]


class CurvesPlot(pg.PlotWidget):
    """Per-epoch curves for named series (train/val/test), plus an optional per-batch trace."""

    COLOURS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
    FAINT = "#9ca3af"  # per-batch traces

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent, axisItems={"bottom": _EpochAxis("bottom")})
        # The legend is a line of coloured names in the title row, outside the plotted area:
        # a legend box inside it hid the curves whenever they ran through its corner.
        self._title = title
        self._legend: dict[str, str] = {}  # series → colour, in the order they appeared
        _style_plot(self)
        _no_tab_stop(self)
        self.update_title()
        self.getAxis("bottom").setLabel("epoch")
        self.showGrid(x=True, y=True, alpha=0.2)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self.data: dict[str, tuple[list[float], list[float]]] = {}
        # Empty axes from 0 to 1 look like a finished run that learned nothing: say why empty.
        self._empty_text = pg.TextItem("", anchor=(0.5, 0.5))
        self.addItem(self._empty_text, ignoreBounds=True)
        self.show_empty()
        self.plotItem.vb.sigResized.connect(self._on_view_resized)

    def show_empty(self, message: str = "Start a run, or select one below.") -> None:
        _, text = _theme_colours()
        faint = _faint(text)
        # Centred and wrapped to the plotted area: a long sentence never runs off a narrow chart.
        self._empty_text.setHtml(
            f'<div style="text-align:center; color:{faint.name(QColor.NameFormat.HexArgb)}">'
            f"{message}</div>"
        )
        self._wrap_empty_text()
        if self.data:
            return
        self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.enableAutoRange(axis="x")  # the next run's epochs set the x range again
        self._empty_text.setPos(0.5, 0.5)
        self._empty_text.show()

    def empty_message(self) -> str:
        return self._empty_text.textItem.toPlainText() if self._empty_text.isVisible() else ""

    def _wrap_empty_text(self) -> None:
        width = self.plotItem.vb.width()
        self._empty_text.textItem.setTextWidth(max(width - 16, 60) if width > 0 else -1)

    def update_title(self) -> None:
        """The title and the legend entries in the theme's text colour: on one line in the
        largest size that fits above the plotted area, else on two lines in a small size."""
        _, text = _theme_colours()
        entries = [
            f'<span style="color:{colour}">━&nbsp;{self._shown_name(name)}</span>'
            for name, colour in self._legend.items()
        ]
        title = f'<span style="color:{text.name()}"><b>{self._title}</b></span>'
        one_line = "&nbsp;&nbsp;".join([title, *entries])
        half = (len(entries) + 1) // 2
        two_lines = (
            "&nbsp;&nbsp;".join([title, *entries[:half]])
            + "<br>"
            + "&nbsp;&nbsp;".join(entries[half:])
        )
        label = self.plotItem.titleLabel
        # The title row spans the plotted area's column only (not the axis beside it).
        room = self.plotItem.vb.width() or self.width() - 60
        for html, size in ((one_line, "9pt"), (one_line, "8pt"), (two_lines, "7pt")):
            self.setTitle(html, size=size)
            if label.item.boundingRect().width() <= room:
                break

    def title_fits(self) -> bool:
        """The whole title line(s) fit above the plotted area."""
        item = self.plotItem.titleLabel.item
        return item.boundingRect().width() <= self.plotItem.vb.width() + 1

    @staticmethod
    def _shown_name(series: str) -> str:
        return "per batch" if series.startswith("batch") else series

    def _on_view_resized(self, *_args) -> None:
        if self._legend:
            self.update_title()
        self._wrap_empty_text()

    def legend_entries(self) -> list[str]:
        return list(self._legend)

    def clear_data(self) -> None:
        for curve in self._curves.values():
            self.removeItem(curve)
        self._curves = {}
        self.data = {}
        self._legend = {}
        self.update_title()
        self.show_empty()

    def append(self, series: str, x: float, y: float) -> None:
        xs, ys = self.data.setdefault(series, ([], []))
        xs.append(x)
        ys.append(y)
        if series not in self._curves:
            per_batch = series.startswith("batch")
            colour = self.FAINT if per_batch else self.COLOURS.get(series, "#a855f7")
            symbol = None if per_batch else "o"
            width = 1 if per_batch else 2
            self._curves[series] = self.plot(
                [],
                [],
                pen=pg.mkPen(colour, width=width),
                symbol=symbol,
                symbolSize=5,
                symbolBrush=colour,
            )
            self._legend[series] = colour
            self.update_title()
            self._empty_text.hide()
        self._curves[series].setData(xs, ys)
        self._fit_y()

    def _fit_y(self) -> None:
        values = [y for _, ys in self.data.values() for y in ys if np.isfinite(y)]
        if not values:
            return
        low, high = min(values), max(values)
        span = max(high - low, 1e-6)
        self.setYRange(low - 0.05 * span, high + 0.05 * span, padding=0)


class HeatMap(pg.PlotWidget):
    """A 10×10 confusion matrix; clicking a cell emits (true, predicted)."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _static_plot(self)
        self.setAspectLocked(True)
        self.getAxis("left").setLabel("true")
        self.getAxis("bottom").setLabel("predicted")
        ticks = [[(i + 0.5, str(i)) for i in range(10)]]
        self.getAxis("left").setTicks(ticks)
        self.getAxis("bottom").setTicks(ticks)
        self.invertY(True)
        self._image = pg.ImageItem()
        self._image.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self._image)
        self._texts: list[pg.TextItem] = []
        self.matrix = np.zeros((10, 10), dtype=np.int64)
        self.setRange(xRange=(0, 10), yRange=(0, 10), padding=0.02)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.plotItem.vb.sigResized.connect(self._fit_text)
        self.setToolTip("Click a cell to show those digits in the gallery.")

    def cell_pixels(self) -> float:
        """The side of one cell on screen, in pixels (the aspect is locked: cells are square)."""
        vb = self.plotItem.vb
        origin, one = vb.mapViewToScene(QPointF(0, 0)), vb.mapViewToScene(QPointF(1, 1))
        return min(abs(one.x() - origin.x()), abs(one.y() - origin.y()))

    def _fit_text(self, *_args) -> None:
        """Scale the counts to the cell, so "1060" fits inside its square at any window size."""
        cell = self.cell_pixels()
        longest = max((len(item.textItem.toPlainText()) for item in self._texts), default=1)
        font = QFont()
        fits = False
        for size in range(12, 5, -1):
            font.setPixelSize(size)
            if QFontMetricsF(font).horizontalAdvance("8" * max(longest, 3)) <= cell - 4:
                fits = True
                break
        for item in self._texts:  # too small to read at all: colours only, no overflow
            item.setFont(font)
            item.setVisible(fits)

    def set_matrix(self, matrix: np.ndarray) -> None:
        self.matrix = np.asarray(matrix)
        shown = np.log1p(self.matrix.astype(float)).T  # ImageItem is (x, y)
        self._image.setImage(shown, levels=(0, max(shown.max(), 1e-9)))
        self._image.setRect(0, 0, 10, 10)
        for item in self._texts:
            self.removeItem(item)
        self._texts = []
        for t in range(10):
            for p in range(10):
                value = int(self.matrix[t, p])
                if value == 0:
                    continue
                item = pg.TextItem(str(value), color="w" if t != p else "k", anchor=(0.5, 0.5))
                item.textItem.document().setDocumentMargin(0)
                item.setPos(p + 0.5, t + 0.5)
                self.addItem(item)
                self._texts.append(item)
        self._fit_text()

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        point = self.plotItem.vb.mapSceneToView(scene_pos)
        predicted, true = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= predicted < 10 and 0 <= true < 10:
            return true, predicted
        return None

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cell_clicked.emit(*cell)
