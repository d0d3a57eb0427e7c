"""Guards against a Qt binding that corrupts reference counts (PySide6 6.12.0 on Python 3.11)."""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(int, object)


def test_emitting_signals_leaves_reference_counts_alone(qtbot):
    emitter = _Emitter()
    received = []
    emitter.ping.connect(lambda i, payload: received.append(i))
    before = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(200):
        emitter.ping.emit(i, None)
    after = sys.getrefcount(True), sys.getrefcount(None)
    assert len(received) == 200
    # A few references may come and go elsewhere; a leak of one per emit would be ~200.
    assert abs(after[0] - before[0]) < 50 and abs(after[1] - before[1]) < 50
