"""Inside the network (issue 11): layers, why-maps, nearest digits, compare, timeline."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from torch import nn

from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict, save_checkpoint
from mnist_desk.core.handwriting import our_digit
from mnist_desk.core.inspect import INVISIBLE, POOLS, display_weights, inspect
from mnist_desk.core.models import MODELS, build_model
from mnist_desk.core.predict import Predictor
from mnist_desk.core.preprocess import strokes_to_mnist

STRUCTURAL = (nn.Conv2d, nn.Linear, *POOLS)


def random_predictor(name: str, seed: int = 0, **model_args) -> Predictor:
    torch.manual_seed(seed)
    model = build_model(name, **model_args)
    return Predictor(Checkpoint(name, clean_state_dict(model), model_args=model_args))


def step_by_step(model: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor]]:
    """The registry's models apply their leaf modules in order: run them one at a time."""
    outputs = []
    for module in [m for m in model.modules() if not list(m.children())]:
        x = module(x)
        outputs.append((module, x))
    return outputs


@pytest.fixture(scope="module")
def seven() -> np.ndarray:
    return strokes_to_mnist(*our_digit(7, "plain"))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_layer_matches_a_direct_forward_pass(name, seven):
    predictor = random_predictor(name)
    model = predictor.model
    inspection = inspect(predictor, seven)
    steps = step_by_step(model, predictor._tensor(seven))
    # Expected: each structural module's output after the elementwise modules that follow it.
    expected = []
    for module, out in steps:
        if isinstance(module, STRUCTURAL):
            expected.append(out)
        elif expected and not isinstance(module, INVISIBLE):
            expected[-1] = out
    shown = [layer for layer in inspection.layers if layer.kind not in ("input", "softmax")]
    assert len(shown) == len(expected)
    kinds = [layer.kind for layer in shown]
    assert kinds.count("conv") == sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert kinds.count("dense") == sum(isinstance(m, nn.Linear) for m in model.modules())
    for layer, out in zip(shown, expected, strict=True):
        want = out[0].detach().numpy()
        assert layer.values.size == want.size, layer.name
        np.testing.assert_allclose(layer.values.reshape(want.shape), want, rtol=1e-4, atol=1e-5)
    assert inspection.layers[0].values.shape == (28, 28)
    np.testing.assert_allclose(
        inspection.probabilities, predictor.all_probabilities(seven), rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(np.linalg.norm(inspection.features, axis=1), 1.0, rtol=1e-4)


def test_eleven_classes_and_weights_as_pictures(seven):
    predictor = random_predictor("desknet", num_classes=11)
    inspection = inspect(predictor, seven, (10,))
    assert inspection.probabilities.shape == (11,) and 10 in inspection.explanations
    weights = display_weights(predictor.model)
    assert weights["features.0"].shape == (32, 1, 3, 3)
    mlp = display_weights(random_predictor("mlp").model)
    assert list(mlp) == ["1"] and mlp["1"].shape == (120, 28, 28)  # first layer as templates


@pytest.mark.parametrize("name", ["desknet", "mlp"])
def test_explanation_is_non_trivial_and_changes_with_the_class(name, seven, shipped_checkpoint):
    predictor = Predictor.from_path(shipped_checkpoint) if name == "desknet" else None
    predictor = predictor or random_predictor(name)
    inspection = inspect(predictor, seven, (1, 3))
    maps = inspection.explanations
    top = int(inspection.probabilities[:10].argmax())
    assert {top, 1, 3} <= set(maps)
    for explanation in maps.values():
        assert np.isfinite(explanation.heat).all()
    assert np.abs(maps[top].heat).sum() > 5  # lights up a region, not a pixel or nothing
    assert np.abs(maps[1].heat - maps[3].heat).mean() > 0.02
    method = maps[top].method
    assert (
        method.startswith("Grad-CAM on conv") if name == "desknet" else method == "input gradient"
    )


def test_nearest_neighbours_of_a_training_digit_include_itself(
    shipped_checkpoint, mnist_root, isolated_home
):
    from mnist_desk.core.data import load_split
    from mnist_desk.core.inspect import batch_features
    from mnist_desk.core.neighbours import build_index, cache_dir, file_md5, load_index

    progress = []
    index = build_index(shipped_checkpoint, mnist_root, 500, on_progress=progress.append)
    assert len(index) == 500 and progress[-1] == (500, 500)
    assert index.features.dtype == torch.float16
    # The shipped resources are never written; the index goes to the per-user cache.
    assert index.path.parent == cache_dir() and file_md5(shipped_checkpoint) in index.path.name
    images = load_split(mnist_root, train=True, download=False).images[:500].numpy()
    predictor = Predictor.from_path(shipped_checkpoint)
    for row in (0, 17, 333):
        query = batch_features(predictor, images[row : row + 1] / 255.0)[0]
        found = index.nearest(query, 8)
        assert len(found) == 8 and found[0][0] == row and found[0][2] > 0.99
        assert found[0][1] == int(index.labels[row])
    again = load_index(shipped_checkpoint)
    assert again is not None and torch.equal(again.features, index.features)


@pytest.mark.parametrize(
    ("rows", "dims", "spread"),
    [(3000, 192, 0.3), (3000, 256, 3.0), (3000, 16, 1.0), (5, 64, 1.0), (3000, 33, 1.0)],
)
def test_nearest_finds_exactly_what_a_full_scan_finds(rows, dims, spread):
    """The lookup skips rows by a bound from their leading dimensions: it must still find
    the very rows and cosines that scoring every row finds, for clustered features (a
    trained model's), nearly uniform ones, narrow ones and an index smaller than k."""
    from mnist_desk.core.neighbours import FeatureIndex

    generator = torch.Generator().manual_seed(rows + dims)
    centres = torch.randn(10, dims, generator=generator)
    labels = torch.randint(10, (rows,), generator=generator)
    raw = centres[labels] + spread * torch.randn(rows, dims, generator=generator)
    features = nn.functional.normalize(raw, dim=1).half()
    index = FeatureIndex(features, labels.numpy().astype(np.uint8), np.arange(rows), "md5")
    everything = features.float()
    queries = [
        everything[rows - 1],
        everything[rows // 2] + 0.2 * torch.randn(dims, generator=generator),
    ]
    queries += [torch.randn(dims, generator=generator) for _ in range(20)]
    basis = index._searchable().basis
    for _ in range(10):  # queries with nothing beyond the leading dimensions: no slack left
        leading = torch.randn(dims, generator=generator) * (torch.arange(dims) < 32)
        queries.append(leading @ basis.T)
    for query in queries:
        query = nn.functional.normalize(query, dim=0)
        found = index.nearest(query.numpy(), 8)
        top = torch.topk(everything @ query, min(8, rows))
        assert [f[0] for f in found] == top.indices.tolist()
        np.testing.assert_allclose([f[2] for f in found], top.values.numpy(), atol=1e-5)
        assert [f[1] for f in found] == labels[top.indices].tolist()
    assert len(index.nearest(np.full(dims, np.nan, dtype=np.float32), 8)) == min(8, rows)


def test_index_lives_beside_a_run_and_goes_stale_when_the_checkpoint_changes(
    tmp_path, shipped_checkpoint, mnist_root
):
    from mnist_desk.core.neighbours import build_index, load_index

    run = tmp_path / "run"
    run.mkdir()
    checkpoint = run / "best.pt"
    shutil.copy(shipped_checkpoint, checkpoint)
    index = build_index(checkpoint, mnist_root, 50)
    assert index.path == run / "best.pt.neighbours.npz"
    assert load_index(checkpoint) is not None
    with open(checkpoint, "ab") as handle:
        handle.write(b"\0")  # a different file now: the cached index is stale
    assert load_index(checkpoint) is None


def test_building_the_index_stops_when_asked(shipped_checkpoint, mnist_root):
    from mnist_desk.core.errors import JobCancelled
    from mnist_desk.core.neighbours import build_index

    with pytest.raises(JobCancelled):
        build_index(shipped_checkpoint, mnist_root, 3000, should_stop=lambda: True)


def save_tiny_run(folder, epochs: int = 2, model_name: str = "lenet5"):
    """A run folder with per-epoch snapshots, as TrainConfig.keep_epochs writes them."""
    (folder / "epochs").mkdir(parents=True)
    for epoch in range(epochs + 1):
        torch.manual_seed(epoch)
        model = build_model(model_name)
        save_checkpoint(
            Checkpoint(model_name, clean_state_dict(model), metrics={"epoch": epoch}),
            folder / "epochs" / f"epoch_{epoch:03d}.pt",
        )
    shutil.copy(folder / "epochs" / f"epoch_{epochs:03d}.pt", folder / "best.pt")
    return folder / "best.pt"


def test_timeline_snapshots_load_and_show_their_own_weights(tmp_path, seven):
    from mnist_desk.core.network import NetworkSession, epoch_snapshots

    best = save_tiny_run(tmp_path / "run")
    snapshots = epoch_snapshots(best)
    assert [p.name for p in snapshots] == ["epoch_000.pt", "epoch_001.pt", "epoch_002.pt"]
    assert epoch_snapshots(tmp_path / "elsewhere" / "best.pt") == []
    session = NetworkSession()
    active = Predictor.from_path(best)
    views = []
    for snapshot in snapshots[:2]:
        session.update({"timeline": str(snapshot), "timeline_label": snapshot.stem})
        views.append(session.view(active, seven))
    assert views[0].epoch_label == "epoch_000" and views[0].index_state == "timeline"
    first, second = (v.inspection.layers[1].values for v in views)
    assert first.shape == second.shape == (6, 28, 28) and not np.allclose(first, second)
    assert not np.allclose(views[0].weights["0"], views[1].weights["0"])


def test_compare_reads_the_drawing_with_every_model(tmp_path, shipped_checkpoint, seven):
    from mnist_desk.core.network import NetworkSession

    best = save_tiny_run(tmp_path / "run", epochs=0)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    session = NetworkSession()
    entries = [("Shipped", ""), ("Tiny", str(best)), ("Broken", str(broken))]
    session.update({"compare": entries})
    view = session.view(Predictor.from_path(shipped_checkpoint), seven)
    rows = {row.label: row for row in view.compare}
    assert rows["Shipped"].model == "desknet" and int(rows["Shipped"].probabilities.argmax()) == 7
    assert rows["Tiny"].model == "lenet5" and rows["Tiny"].probabilities.shape == (10,)
    assert rows["Broken"].probabilities is None and "broken.pt" in rows["Broken"].error


def test_same_drawing_is_read_again_when_a_compared_checkpoint_changes(tmp_path, seven):
    """Compare answers are kept while the drawing stays (a class click), never past a new file."""
    import os

    from mnist_desk.core.network import NetworkSession

    best = save_tiny_run(tmp_path / "run", epochs=1)
    session = NetworkSession()
    session.update({"compare": [("Tiny", str(best))]})
    active = random_predictor("mlp")
    before = session.view(active, seven).compare[0].probabilities
    session.update({"target": 3})
    assert np.array_equal(session.view(active, seven).compare[0].probabilities, before)
    shutil.copy(tmp_path / "run" / "epochs" / "epoch_000.pt", best)  # retrained meanwhile
    stat = os.stat(best)
    os.utime(best, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = session.view(active, seven).compare[0].probabilities
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, Predictor.from_path(best).all_probabilities(seven))


def test_features_from_the_pads_pass_give_the_same_view_as_the_inspection(
    tmp_path, mnist_root, isolated_home, seven
):
    """The pad's forward pass gives its answer and the neighbour features at once: the view
    made from them (lookup beside the inspection, compared models shared between two
    threads) shows what the view made from the inspection alone shows."""
    from mnist_desk.core.inspect import probabilities_and_features
    from mnist_desk.core.neighbours import build_index
    from mnist_desk.core.network import NetworkSession

    best = save_tiny_run(tmp_path / "run", epochs=0, model_name="cnn")
    other = save_tiny_run(tmp_path / "other", epochs=0, model_name="lenet5")
    build_index(best, mnist_root, 300)
    active = Predictor.from_path(best)
    probs, features = probabilities_and_features(active, seven)
    np.testing.assert_array_equal(probs, active.all_probabilities(seven))
    entries = [("Shipped", ""), ("Active", str(best)), ("Other", str(other))]

    views = []
    for given in (None, features):
        session = NetworkSession(str(mnist_root))
        session.update({"compare": entries})
        views.append(session.view(active, seven, given))
    alone, early = views
    assert alone.index_state == early.index_state == "ready"
    assert [n[:3] for n in early.neighbours] == [n[:3] for n in alone.neighbours]
    assert [r.label for r in early.compare] == ["Shipped", "Active", "Other"]
    for a, b in zip(alone.compare, early.compare, strict=True):
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
    assert early.compare[1].probabilities is early.inspection.probabilities
    assert early.compare[0].model == "desknet" and early.compare[2].model == "lenet5"


def test_a_model_without_a_linear_layer_still_gets_its_answer(seven):
    """The pad's answer never depends on the neighbour features it may carry along."""
    from mnist_desk.core.inspect import probabilities_and_features

    model = nn.Sequential(nn.Conv2d(1, 10, 28), nn.Flatten())
    predictor = random_predictor("mlp")
    predictor.model = model.eval()
    probs, features = probabilities_and_features(predictor, seven)
    assert features is None and probs.shape == (10,)
    np.testing.assert_array_equal(probs, predictor.all_probabilities(seven))


def test_active_model_is_not_loaded_twice_and_only_compared_models_are_exported(
    tmp_path, shipped_checkpoint, seven, monkeypatch
):
    """The active model's compare row is its inspection; a compared model reads through
    onnxruntime (one plain pass per drawing); a timeline epoch is only inspected, so it is
    not exported (90 ms per epoch on the slider)."""
    pytest.importorskip("onnxruntime")
    from mnist_desk.core.network import NetworkSession

    best = save_tiny_run(tmp_path / "run", epochs=1)
    snapshot = sorted((tmp_path / "run" / "epochs").glob("epoch_*.pt"))[0]
    loaded = []
    real_from_path = Predictor.from_path.__func__
    monkeypatch.setattr(
        Predictor,
        "from_path",
        classmethod(
            lambda cls, path, *a: loaded.append(str(path)) or real_from_path(cls, path, *a)
        ),
    )
    active = Predictor.from_path(shipped_checkpoint)
    loaded.clear()
    session = NetworkSession()
    session.update({"compare": [("Shipped", ""), ("Tiny", str(best))]})
    view = session.view(active, seven)
    assert loaded == [str(best)]  # the shipped row is the active model's own
    assert view.compare[0].probabilities is view.inspection.probabilities
    assert session.predictors.get(str(best)).onnx is not None
    session.update({"timeline": str(snapshot), "timeline_label": "epoch_000"})
    session.view(active, seven)
    epoch = session.predictors.get(str(snapshot))
    assert epoch.onnx is None and not epoch._onnx_tried
