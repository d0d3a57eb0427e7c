"""PySide6 widgets: thin, and never running torch on the GUI thread."""

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
