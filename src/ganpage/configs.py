"""Reading a ``@dataclass`` config from JSON: a key the dataclass does not have is named in
one line, never dropped, so a typo or a file from another version cannot pass unnoticed."""

from __future__ import annotations

from dataclasses import fields

from ganpage.errors import GanpageError


def known_fields(cls: type, raw: dict, what: str) -> dict:
    """``raw`` as keyword arguments of ``cls``; GanpageError naming the first unknown key."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known, key=str)
    if unknown:
        raise GanpageError(f"unknown setting {unknown[0]!r} in the {what}; it comes from another "
                           "version of ganpage or has a typo: remove it, or use the version "
                           "that wrote it")
    return dict(raw)
