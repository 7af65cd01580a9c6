"""The ``ganpage`` command: ``main.py`` builds it from one module per area, ``options.py`` holds
the option types they share. ``ganpage.cli.main`` is the console script's function here, not
the module: import the module's names with ``from ganpage.cli.main import app``."""

from ganpage.cli.main import app, main

__all__ = ["app", "main"]
