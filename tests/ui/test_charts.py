"""Charts read cleanly at any size: no SI rescaling, no legend over a curve, no text overflow."""

import numpy as np


def _shown(qtbot, widget, width, height):
    widget.resize(width, height)
    widget.show()
    qtbot.addWidget(widget)
    qtbot.waitExposed(widget)
    qtbot.wait(50)


def test_axes_never_rescale_with_an_si_prefix(qtbot):
    from mnist_desk.ui.charts import CurvesPlot

    plot = CurvesPlot("loss")
    _shown(qtbot, plot, 320, 240)
    for step in range(1, 30):  # per-batch x values are fractions of an epoch
        plot.append("batch loss", step / 1000, 0.0004 / step)
    plot.append("train", 0.001, 0.0003)
    qtbot.wait(50)
    for name in ("bottom", "left"):
        axis = plot.getAxis(name)
        assert axis.autoSIPrefixScale == 1.0
        assert "(x" not in axis.labelString()


def test_legends_do_not_cover_the_curves(qtbot):
    """The legend is in the title row: never inside the plotted area, whatever the data."""
    from mnist_desk.ui.charts import CurvesPlot

    accuracy, loss = CurvesPlot("accuracy"), CurvesPlot("loss")
    _shown(qtbot, accuracy, 270, 200)  # about one chart's size in a 960 px window
    _shown(qtbot, loss, 270, 200)
    for epoch in range(1, 7):
        accuracy.append("train", epoch, 0.99 - 0.08 / epoch)
        accuracy.append("val", epoch, 0.985 - 0.05 / epoch)
        accuracy.append("test", epoch, 0.986 - 0.05 / epoch)
        loss.append("train", epoch, 0.5 / epoch)
        loss.append("val", epoch, 0.4 / epoch + 0.02)
        loss.append("test", epoch, 0.4 / epoch + 0.03)
        for step in range(10):
            loss.append("batch (smoothed)", epoch - 1 + step / 10, 0.6 / (epoch + step / 10))
    qtbot.wait(50)
    assert accuracy.legend_entries() == ["train", "val", "test"]
    assert loss.legend_entries() == ["train", "val", "test", "batch (smoothed)"]
    assert "per batch" in loss.plotItem.titleLabel.item.toPlainText()
    for plot in (accuracy, loss):
        title = plot.plotItem.titleLabel
        area = plot.plotItem.vb.sceneBoundingRect()
        assert title.isVisible() and not title.sceneBoundingRect().intersects(area)
        text = title.item.toPlainText()
        assert all(name in text for name in ("train", "val", "test"))
        assert plot.title_fits()  # the whole legend fits above the plot, nothing cut
        (x0, x1), (y0, y1) = plot.plotItem.vb.viewRange()
        for xs, ys in plot.data.values():  # every point is in view
            assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in zip(xs, ys, strict=True))
    ticks = accuracy.getAxis("bottom").tickValues(*accuracy.plotItem.vb.viewRange()[0], 250)
    assert all(float(v).is_integer() for _spacing, values in ticks for v in values)  # epochs
    _shown(qtbot, loss, 190, 160)  # narrower still (a 960 px window): two small lines
    assert loss.title_fits()
    loss.clear_data()
    assert loss.legend_entries() == [] and "train" not in loss.plotItem.titleLabel.text
    loss.show_empty("The loss appears after the first batches.")  # wrapped inside the plot
    qtbot.wait(20)
    assert loss.plotItem.vb.sceneBoundingRect().contains(loss._empty_text.sceneBoundingRect())


def test_confusion_counts_fit_their_cells(qtbot):
    from mnist_desk.ui.charts import HeatMap

    heatmap = HeatMap()
    _shown(qtbot, heatmap, 290, 290)  # about the Mistakes tab's matrix at the minimum size
    matrix = np.diag([980, 1135, 1060, 1010, 982, 892, 958, 1028, 974, 1009])
    matrix[4, 9] = 13
    heatmap.set_matrix(matrix)
    qtbot.wait(50)
    cell = heatmap.cell_pixels()
    texts = heatmap._texts
    assert any(t.textItem.toPlainText() == "1060" for t in texts)
    for text in texts:
        assert text.isVisible()
        assert text.sceneBoundingRect().width() <= cell, text.textItem.toPlainText()

    _shown(qtbot, heatmap, 120, 120)  # far too small to read: colours only, nothing spills
    qtbot.wait(50)
    assert all(not t.isVisible() for t in texts) or all(
        t.sceneBoundingRect().width() <= heatmap.cell_pixels() for t in texts
    )


def test_bar_percentages_stay_inside_a_narrow_chart(qtbot):
    from mnist_desk.ui.charts import ProbabilityBars

    bars = ProbabilityBars()
    _shown(qtbot, bars, 190, 180)
    bars.set_top_k([(6, 0.932), (5, 0.051), (8, 0.017)])
    qtbot.wait(50)
    area = bars.plotItem.vb.sceneBoundingRect()
    shown = [label for label in bars._labels if label.isVisible()]
    assert [label.textItem.toPlainText() for label in shown] == ["93.2%", "5.1%", "1.7%"]
    for label in shown:
        assert area.contains(label.sceneBoundingRect()), label.textItem.toPlainText()
