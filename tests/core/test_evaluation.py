"""evaluate_checkpoint: the Mistakes tab's job and `mnist-desk eval`, on a subset."""

import numpy as np
import pytest

from mnist_desk.core.errors import JobCancelled
from mnist_desk.core.evaluation import evaluate_checkpoint


def test_a_subset_is_evaluated_in_batches_with_progress(shipped_checkpoint, mnist_root):
    progress = []
    outcome = evaluate_checkpoint(
        shipped_checkpoint,
        mnist_root,
        subset=250,
        should_stop=lambda: False,
        on_progress=lambda done, total: progress.append((done, total)),
        batch_size=100,
    )
    result = outcome["result"]
    assert progress == [(1, 3), (2, 3), (3, 3)]  # 100 + 100 + 50
    assert outcome["images"].shape == (250, 28, 28) and outcome["images"].dtype == np.uint8
    assert len(result.labels) == 250 and result.accuracy > 0.95  # the shipped model is good
    about = outcome["checkpoint"]
    assert about["name"] == "desknet" and about["path"] == str(shipped_checkpoint)
    assert about["description"].startswith("desknet")


@pytest.mark.parametrize("stop_after", [0, 1, 2, 3])
def test_cancel_reaches_every_phase(shipped_checkpoint, mnist_root, stop_after):
    """Checks 1-2: before each test file; 3: after the model is built; 4+: each batch."""
    calls, progress = [], []

    def should_stop():
        calls.append(1)
        return len(calls) > stop_after

    with pytest.raises(JobCancelled):
        evaluate_checkpoint(
            shipped_checkpoint,
            mnist_root,
            subset=250,
            should_stop=should_stop,
            on_progress=lambda done, total: progress.append(done),
        )
    assert len(calls) == stop_after + 1
    assert progress == []


def test_a_cancel_between_batches_stops_the_rest(shipped_checkpoint, mnist_root):
    progress = []
    with pytest.raises(JobCancelled):
        evaluate_checkpoint(
            shipped_checkpoint,
            mnist_root,
            subset=250,
            should_stop=lambda: len(progress) >= 1,
            on_progress=lambda done, total: progress.append(done),
            batch_size=100,
        )
    assert progress == [1]
