"""Scores near-duplicate measures against blind judges' answers to a pair sheet (issue 31,
deliverable 1, phase 2): per measure, precision and recall of "same" at every threshold, the
threshold with the best F1, and the one with the best recall at precision >= 0.95.

A pair is "same" by consensus when every judge says so; pairs the judges split are scored both
ways (``split as same`` / ``split as different``). A measure calls a pair "same" when its value
is at or below the threshold (every measure here is a distance). ``same category`` (no picture
measure at all) is scored beside them, to show how much of a measure's score is the category.

Usage: python benchmarks/duplicates_score.py docs/duplicates-calibration/pairs.json \
           docs/duplicates-calibration/answers-judge1.txt \
           docs/duplicates-calibration/answers-judge2.txt [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

MIN_PRECISION = 0.95
CURRENT_RULE = ("dhash_grey", 32)  # curate's rule today (curation/duplicates.py)


def read_answers(path: Path) -> dict[str, bool]:
    """'N: same|different' lines (comments with '#') -> pair number -> said "same"."""
    answers = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        number, answer = (part.strip().lower() for part in line.split(":", 1))
        if answer not in ("same", "different"):
            raise ValueError(f"{path}: pair {number}: answer {answer!r} is not same/different")
        answers[number] = answer == "same"
    return answers


def consensus(judges: list[dict[str, bool]]) -> tuple[dict[str, bool], list[str]]:
    """Pairs every judge answered alike -> their answer; and the numbers of split pairs."""
    numbers = sorted(set.intersection(*(set(j) for j in judges)), key=int)
    agreed = {n: judges[0][n] for n in numbers if len({j[n] for j in judges}) == 1}
    return agreed, [n for n in numbers if n not in agreed]


def sweep(values: np.ndarray, same: np.ndarray) -> list[dict]:
    """Precision, recall and F1 of ``values <= t`` for every distinct value t."""
    rows = []
    positives = int(same.sum())
    for t in np.unique(values):
        called = values <= t
        hits = int((called & same).sum())
        precision = hits / int(called.sum())
        recall = hits / positives if positives else 0.0
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        rows.append({"threshold": float(t), "called": int(called.sum()), "hits": hits,
                     "precision": precision, "recall": recall, "f1": f1})
    return rows


def best(rows: list[dict]) -> dict[str, dict | None]:
    """The threshold with the best F1 (the lowest on ties), and the one with the best recall
    at precision >= MIN_PRECISION (None when no threshold reaches it)."""
    by_f1 = max(rows, key=lambda r: (r["f1"], -r["threshold"]))
    precise = [r for r in rows if r["precision"] >= MIN_PRECISION]
    at_precision = max(precise, key=lambda r: (r["recall"], -r["threshold"])) if precise else None
    return {"best_f1": by_f1, "precision_95": at_precision}


def score(key: dict, judges: list[dict[str, bool]]) -> dict:
    agreed, split = consensus(judges)
    measures = list(next(iter(key["pairs"].values()))["measures"])
    labellings = {"split as same": {**agreed, **{n: True for n in split}},
                  "split as different": {**agreed, **{n: False for n in split}}}
    result: dict = {"judges": len(judges), "agreed": len(agreed), "split": split,
                    "by_labelling": {}}
    for name, labels in labellings.items():
        numbers = sorted(labels, key=int)
        same = np.array([labels[n] for n in numbers])
        pairs = [key["pairs"][n] for n in numbers]
        table = {m: best(sweep(np.array([p["measures"][m] for p in pairs], float), same))
                 for m in measures}
        # 0 when both pictures show one category, 1 otherwise: the category alone as a rule
        other = np.array([p["left"]["category"] != p["right"]["category"] for p in pairs], float)
        table["same category"] = best(sweep(other, same))
        measure, bits = CURRENT_RULE
        current = [r for r in sweep(np.array([p["measures"][measure] for p in pairs], float),
                                    same) if r["threshold"] <= bits]
        everything = sweep(np.zeros(len(pairs)), same)[0]  # the base rate: every pair "same"
        result["by_labelling"][name] = {
            "pairs": len(numbers), "same": int(same.sum()), "measures": table,
            "current_rule": current[-1] if current else None, "every_pair_same": everything}
    return result


def markdown(result: dict) -> str:
    lines = []
    for name, part in result["by_labelling"].items():
        lines += [f"{name}: {part['same']} of {part['pairs']} pairs same", "",
                  "| measure | best F1: threshold | P | R | F1 | P >= 0.95: threshold | P | R "
                  "| F1 |", "|---|---|---|---|---|---|---|---|---|"]
        for measure, picks in part["measures"].items():
            cells = [f"`{measure}`"]
            for pick in (picks["best_f1"], picks["precision_95"]):
                cells += (["none", "", "", ""] if pick is None else
                          [f"{pick['threshold']:g}", f"{pick['precision']:.3f}",
                           f"{pick['recall']:.3f}", f"{pick['f1']:.3f}"])
            lines.append("| " + " | ".join(cells) + " |")
        for label, pick in ((f"current rule `{CURRENT_RULE[0]}` <= {CURRENT_RULE[1]}",
                             part["current_rule"]), ("every pair same", part["every_pair_same"])):
            if pick is not None:
                lines.append(f"| {label} | | {pick['precision']:.3f} | {pick['recall']:.3f} | "
                             f"{pick['f1']:.3f} | | | | |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("key", type=Path)
    parser.add_argument("answers", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write every pick here too")
    args = parser.parse_args()
    key = json.loads(args.key.read_text())
    result = score(key, [read_answers(path) for path in args.answers])
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{result['judges']} judges agree on {result['agreed']} pairs; split: "
          f"{', '.join(result['split']) or 'none'}\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
