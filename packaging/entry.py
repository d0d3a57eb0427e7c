"""Entry point of the bundle: the same CLI as ``mnist-desk`` (no sub-command opens the app)."""

import sys

from mnist_desk.cli import main

if __name__ == "__main__":
    sys.exit(main())
