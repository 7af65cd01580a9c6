"""The ``ganpage`` command (``ganpage.cli:main``): ``main.py`` builds the app from one module per
area (generate, train, data, gallery, serve ...); ``options.py`` holds the option types they
share. Imports run main -> areas -> options and the library, never back.

``main`` here is the console script's function, so ``ganpage.cli.main`` names it, not the
module: import the module's other names with ``from ganpage.cli.main import app``.
"""

from ganpage.cli.main import app, main

__all__ = ["app", "main"]
