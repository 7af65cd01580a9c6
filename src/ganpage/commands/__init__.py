"""The ``ganpage`` commands kept out of ``cli.py``: one module per area, each registering its
commands on ``cli.app`` when imported (``cli.py`` imports them at its end)."""
