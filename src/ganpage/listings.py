"""What a listing of the gallery keeps, in SQL: ``Selection`` (a category, a status, a flag
or none, a numeric score's range) and the WHERE clause and score expression the index's
listings (``Gallery.selected_counts``, ``selected_records``) run, reading a picture's scores
with SQLite's JSON1 as ``numbers_of`` reads them in Python."""

from __future__ import annotations

from dataclasses import dataclass


def numbers_of(scores_json: dict) -> dict[str, float]:
    """The numbers among a picture's scores, one level of nesting spelt ``outer.inner``."""
    scores: dict[str, float] = {}
    for name, value in scores_json.items():
        inner = value if isinstance(value, dict) else {"": value}
        for key, number in inner.items():
            if isinstance(number, int | float) and not isinstance(number, bool):
                scores[f"{name}.{key}" if key else name] = float(number)
    return scores


@dataclass(frozen=True)
class Selection:
    """Which pictures a listing keeps (each field left empty keeps them all): a category, a
    status, a flag they have or only those without any flag, a numeric score they have
    (as ``numbers_of`` names it) within ``min``..``max``."""

    category: str = ""
    status: str = ""
    flag: str = ""
    unflagged: bool = False
    score: str = ""
    min: float | None = None
    max: float | None = None

    def keeps_flags(self, flags: list[str]) -> bool:
        """Whether a picture with these flags passes the flag part of the selection."""
        return not flags if self.unflagged else not self.flag or self.flag in flags


def selection_sql(chosen: Selection) -> tuple[str, list]:
    """The WHERE clause (and its parameters) of the pictures ``chosen`` keeps."""
    conditions, params = ["1"], []
    for column in ("category", "status"):
        if getattr(chosen, column):
            conditions.append(f"{column} = ?")
            params.append(getattr(chosen, column))
    if chosen.unflagged:
        conditions.append("json_array_length(flags) = 0")
    elif chosen.flag:
        conditions.append("EXISTS (SELECT 1 FROM json_each(images.flags) AS f "
                          "WHERE f.value = ?)")
        params.append(chosen.flag)
    if chosen.score:  # one reading of the score per picture: BETWEEN reads it once
        score, score_params = score_sql(chosen.score)
        bounds = [b for b in (chosen.min, chosen.max) if b is not None]
        test = {(True, True): "BETWEEN ? AND ?", (True, False): ">= ?",
                (False, True): "<= ?", (False, False): "IS NOT NULL"}
        conditions.append(f"{score} {test[chosen.min is not None, chosen.max is not None]}")
        params += [*score_params, *bounds]
    return " AND ".join(conditions), params


def score_sql(name: str) -> tuple[str, list[str]]:
    """SQL for the picture's numeric score ``name`` as ``numeric_scores`` reads it (NULL
    when it has none), and its parameters. ``scores`` is written with sorted keys, so of
    several spellings of one name (``a.b`` at the top, or ``b`` within ``a``) the one with the
    longest outer key is read last there and wins; this tries them in that order. A score
    JSON cannot hold (NaN, Infinity) makes the whole record's scores unreadable to SQLite:
    such a picture has no score here."""
    paths = _score_paths(name)
    cases = " ".join("WHEN json_type(scores, ?) IN ('integer', 'real') "
                     "THEN json_extract(scores, ?)" for _ in paths)
    return (f"(CASE WHEN NOT json_valid(scores) THEN NULL {cases} END)",
            [path for path in paths for _ in range(2)])


def _score_paths(name: str) -> list[str]:
    """The JSON paths that ``numeric_scores`` could read ``name`` from, first wins."""
    if '"' in name:
        raise ValueError(f"score name {name[:40]!r} has a double quote; no score has one")
    paths = [f'$."{name}"', f'$."{name}".""']
    dots = [i for i, character in enumerate(name) if character == "."]
    paths += [f'$."{name[:i]}"."{name[i + 1:]}"' for i in reversed(dots)]
    return paths
