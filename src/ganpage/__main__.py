"""``python -m ganpage`` is the ``ganpage`` command."""

from ganpage.cli import main

main()
