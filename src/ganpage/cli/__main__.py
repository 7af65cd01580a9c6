"""``python -m ganpage.cli`` is the ``ganpage`` command, as ``python -m ganpage`` is."""

from ganpage.cli import main

main()
