"""What the site's answers share, in one place: their cache headers, and the patterns of a
picture's id and a category's slug (plain patterns, matched whole with ``fullmatch``).

Imports no web framework, so the static build (``static_site.py``) uses the same values.
"""

from __future__ import annotations

import re

# Pages and JSON answers: always the gallery as it is now (a decision shows at once).
NO_STORE = {"Cache-Control": "no-store"}
# A gallery picture's file: its name is its recipe's hash, so its bytes never change.
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
IMAGE_ID = re.compile(r"[0-9a-f]{12}")  # gallery.image_id: 12 hex digits
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")  # categories.py's slugs: ASCII, 80 at most
MAX_QUERY_LENGTH = 256  # a longer query string is a 400 (no page takes one that long)


def is_image_id(text: str) -> bool:
    """Whether ``text`` is spelt as a picture's id (it may still name no picture)."""
    return IMAGE_ID.fullmatch(text) is not None
