"""Candidate near-duplicate measures on emoji64 galleries, and a blind pair sheet to calibrate
them (issue 31, deliverable 1, phase 1).

For every within-category pair of each gallery, the same-seed pairs across two truncations, and
a seeded sample of cross-category pairs, computes: the current 256-bit grey dHash distance
(``dhash_grey``), a colour-opponent dHash (``dhash_opponent``: 512 bits on R-G and (R+G)/2-B),
mean absolute difference of blurred colour thumbnails (``thumb8``, ``thumb16``, 0..255), the
same at 32 px forgiving a shift of up to 2 px of the 64 px picture (``thumb32_shift``), and the
cosine distance of the bundled classifier's features (``classifier_cos``). Then picks ~120 pairs
stratified over those measures and renders sheets for blind judges (no values, no names).

Galleries first (``ganpage generate``, float32):
  ganpage generate /tmp/dup-gallery-065 --best-categories 100 --per-category 8 \
      --truncation 0.65 --precision float32
  ganpage generate /tmp/dup-gallery-07 --best-categories 100 --per-category 8 \
      --truncation 0.7 --precision float32
  ganpage generate /tmp/dup-gallery-rand07 --random-categories 100 --seed 1 \
      --per-category 8 --truncation 0.7 --precision float32
Usage: python benchmarks/duplicates_calibration.py /tmp/dup-gallery-065 /tmp/dup-gallery-07 \
           /tmp/dup-gallery-rand07 [--out docs/duplicates-calibration] [--seed 31]

A model that draws a style from each seed (``styles.json`` in its folder; emoji32-v2, 32 px,
12 emoji sets) gets strata by style instead (``choose_styled``), and its pictures are shown 4x:
  ganpage export-model /work/main/runs/emoji-v2 --out /tmp/v2-model --name emoji32-v2 \
      --classifier /work/main/runs/ab/classifier
  ganpage generate /tmp/v2-gallery-07 --model /tmp/v2-model --random-categories 128 \
      --per-category 16 --truncation 0.7 --precision float32
  ganpage generate /tmp/v2-gallery-065 --model /tmp/v2-model --random-categories 128 \
      --per-category 4 --truncation 0.65 --precision float32
  python benchmarks/duplicates_calibration.py /tmp/v2-gallery-065 /tmp/v2-gallery-07 \
      --model /tmp/v2-model --out docs/duplicates-calibration/v2
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from ganpage.classifiers.trained import bundled_classifier, load_classifier
from ganpage.curation.duplicates import feature_hashes, picture_hash
from ganpage.gallery import Gallery
from ganpage.models.loading import resolve_model_dir
from ganpage.noise import noise_and_styles

MEASURES = ("dhash_grey", "dhash_opponent", "thumb8", "thumb16", "thumb32_shift",
            "classifier_cos", "feature_simhash")
# the measures the sheet sweeps (the others are close cousins of one of these)
SWEPT = ("dhash_grey", "dhash_opponent", "thumb16", "thumb32_shift", "classifier_cos")
CROSS_SAMPLE = 4000  # cross-category pairs per gallery
PAIRS_PER_SHEET = 30
SHEET_PAIRS = 120  # pairs on a styled model's sheets
MAX_PER_CATEGORY = 2  # pairs on the sheet that show one category
SHOWN_SIZE = 128  # pictures are shown this big, NEAREST by an integer factor (square pixels)


@dataclass
class Picture:
    category: str
    seed: int
    truncation: float
    model_id: str
    pixels: np.ndarray  # uint8 (S, S, 3), S = 64 (emoji64) or 32 (emoji32-v2)
    style: int | None = None  # the emoji set the seed drew, for a model with styles


def model_styles(model: str) -> list[str] | None:
    """The style names of a model that draws one per seed, else None."""
    path = resolve_model_dir(model) / "styles.json"
    return json.loads(path.read_text()) if path.is_file() else None


def seed_styles(model: str, seeds: list[int], truncation: float) -> list[int]:
    """The style each seed draws (``noise.noise_and_styles``; it does not depend on the
    truncation or the category)."""
    config = json.loads((resolve_model_dir(model) / "config.json").read_text())["config"]
    _, styles = noise_and_styles(seeds, config["z_dim"], truncation, config["num_styles"])
    return styles.tolist()


def load_pictures(galleries: list[Path]) -> list[Picture]:
    pictures, seen = [], set()
    for root in galleries:
        with Gallery.open(root) as gallery:
            for record in sorted(gallery.records(), key=lambda r: (r.category, r.seed)):
                if record.id in seen:  # a category two galleries share: one copy
                    continue
                seen.add(record.id)
                image = Image.open(gallery.path_of(record)).convert("RGB")
                pictures.append(Picture(record.category, int(record.seed), record.truncation,
                                        record.model_id, np.asarray(image)))
    return pictures


def _bits(image: np.ndarray) -> np.ndarray:
    """float (H, W+1) channel -> bool (H*W,) signs of horizontal gradients (dHash)."""
    return (image[:, 1:] > image[:, :-1]).ravel()


def opponent_hash(picture: np.ndarray, size: int = 16) -> np.ndarray:
    """uint8 (H, W, 3) -> bool (2*size*size,) dHash of the R-G and (R+G)/2-B channels."""
    small = np.asarray(Image.fromarray(picture).resize((size + 1, size),
                                                       Image.Resampling.LANCZOS), np.float32)
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    return np.concatenate([_bits(r - g), _bits((r + g) / 2 - b)])


def thumbnail(picture: np.ndarray, size: int) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (size, size, 3) after a 1 px blur, area-averaged."""
    image = Image.fromarray(picture).filter(ImageFilter.GaussianBlur(1))
    return np.asarray(image.resize((size, size), Image.Resampling.BOX), np.float32)


def shifted_distance(a: np.ndarray, b: np.ndarray, shift: int = 1) -> float:
    """Mean abs difference of two (S, S, 3) thumbnails, the least over shifts of +-``shift``."""
    n = a.shape[0]
    best = np.inf
    for dy, dx in itertools.product(range(-shift, shift + 1), repeat=2):
        a_part = a[max(dy, 0):n + min(dy, 0), max(dx, 0):n + min(dx, 0)]
        b_part = b[max(-dy, 0):n + min(-dy, 0), max(-dx, 0):n + min(-dx, 0)]
        best = min(best, float(np.abs(a_part - b_part).mean()))
    return best


@torch.inference_mode()
def classifier_features(pictures: list[Picture], model: str) -> np.ndarray:
    """(N, D) unit-length features of the model's bundled classifier."""
    classifier = load_classifier(bundled_classifier(model))
    _, features = classifier.predict(np.stack([p.pixels for p in pictures]))
    return features / np.linalg.norm(features, axis=1, keepdims=True)


def _hex_bits(hashes: list[str]) -> np.ndarray:
    """64-hex-digit hashes -> bool (N, 256), most significant bit first."""
    return np.unpackbits(np.array([list(bytes.fromhex(h)) for h in hashes], np.uint8), axis=1
                         ).astype(bool)


def describe(pictures: list[Picture], model: str) -> dict[str, np.ndarray]:
    """Per-picture descriptors every measure is computed from."""
    grey = np.array([[int(picture_hash(p.pixels)[i], 16) >> (3 - k) & 1
                      for i in range(64) for k in range(4)] for p in pictures], dtype=bool)
    return {"grey": grey,
            "opponent": np.stack([opponent_hash(p.pixels) for p in pictures]),
            "thumb8": np.stack([thumbnail(p.pixels, 8) for p in pictures]),
            "thumb16": np.stack([thumbnail(p.pixels, 16) for p in pictures]),
            "thumb32": np.stack([thumbnail(p.pixels, 32) for p in pictures]),
            "features": (features := classifier_features(pictures, model)),
            # curate's feature_hash: SimHash of the same features (scale does not change it)
            "simhash": _hex_bits(feature_hashes(features))}


def measure(d: dict[str, np.ndarray], i: int, j: int) -> dict[str, float]:
    return {"dhash_grey": int((d["grey"][i] != d["grey"][j]).sum()),
            "dhash_opponent": int((d["opponent"][i] != d["opponent"][j]).sum()),
            "thumb8": round(float(np.abs(d["thumb8"][i] - d["thumb8"][j]).mean()), 2),
            "thumb16": round(float(np.abs(d["thumb16"][i] - d["thumb16"][j]).mean()), 2),
            "thumb32_shift": round(shifted_distance(d["thumb32"][i], d["thumb32"][j]), 2),
            "classifier_cos": round(1.0 - float(d["features"][i] @ d["features"][j]), 4),
            "feature_simhash": int((d["simhash"][i] != d["simhash"][j]).sum())}


def measure_key(path: Path, galleries: list[Path], model: str) -> None:
    """Fill in every measure of a judged key's pairs (``--measure-key``: a measure added after
    the sheet was judged), from the galleries the sheet was drawn from; the pairs, their order
    and the measures they had stay as they were (the percentiles are not recomputed)."""
    key = json.loads(path.read_text())
    pictures = load_pictures(galleries)
    at = {(p.category, p.seed, p.truncation): n for n, p in enumerate(pictures)}
    d = describe(pictures, model)
    for pair in key["pairs"].values():
        i, j = (at[(pair[side]["category"], pair[side]["seed"], pair[side]["truncation"])]
                for side in ("left", "right"))
        fresh = measure(d, i, j)
        changed = {m for m in pair["measures"] if pair["measures"][m] != fresh[m]}
        if changed:
            raise SystemExit(f"{path}: {sorted(changed)} differ from the sheet's: not the "
                             "galleries it was drawn from")
        pair["measures"] = fresh
    path.write_text(json.dumps(key, indent=1) + "\n")


def candidate_pairs(pictures: list[Picture], seed: int) -> list[tuple[int, int, str]]:
    """(i, j, kind): every within-category pair of each gallery (kind 'within'), same category
    and seed at two truncations ('truncation'), and a sample across categories ('cross')."""
    rng = random.Random(seed)
    by_gallery: dict[tuple[float, str], list[int]] = {}
    for index, p in enumerate(pictures):
        by_gallery.setdefault((p.truncation, p.category), []).append(index)
    pairs = []
    for members in by_gallery.values():
        pairs.extend((i, j, "within") for i, j in itertools.combinations(members, 2))
    by_recipe: dict[tuple[str, int], list[int]] = {}
    for index, p in enumerate(pictures):
        by_recipe.setdefault((p.category, p.seed), []).append(index)
    pairs.extend((m[0], m[1], "truncation") for m in by_recipe.values() if len(m) == 2)
    for truncation in sorted({p.truncation for p in pictures}):
        members = [i for i, p in enumerate(pictures) if p.truncation == truncation]
        for _ in range(CROSS_SAMPLE):
            i, j = sorted(rng.sample(members, 2))
            if pictures[i].category != pictures[j].category:
                pairs.append((i, j, "cross"))
    return sorted(set(pairs))


def quantiles(rows: list[dict], kinds: tuple[str, ...], styled: bool = False) -> dict:
    """Each measure's quantiles per kind of pair (and, with ``styled``, within-category pairs
    of one style and of two)."""
    qs = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9)
    table = {}
    parts = {kind: (lambda r, k=kind: r["kind"] == k) for kind in kinds}
    if styled:
        parts |= {"within, one style": lambda r: r["kind"] == "within" and r["same_style"],
                  "within, two styles": lambda r: r["kind"] == "within" and not r["same_style"]}
    for kind, test in parts.items():
        chosen = [r for r in rows if test(r)]
        table[kind] = {"pairs": len(chosen)} | {
            m: [round(float(v), 3) for v in np.quantile([r[m] for r in chosen], qs)]
            for m in MEASURES}
    return {"quantiles": list(qs), "by_kind": table}


def _ranks(rows: list[dict]) -> None:
    """Adds ``rank_<measure>``: percentile of each measure among within-category pairs."""
    within = {m: np.sort([r[m] for r in rows if r["kind"] == "within"]) for m in MEASURES}
    for r in rows:
        for m in MEASURES:
            r[f"rank_{m}"] = float(np.searchsorted(within[m], r[m], side="right")
                                   / len(within[m]))
        r["rank_mean"] = float(np.mean([r[f"rank_{m}"] for m in SWEPT]))


class _Picker:
    """Pairs picked into strata, each at most once and at most ``MAX_PER_CATEGORY`` per
    category (many categories on the sheet, not a few collapsed ones)."""

    def __init__(self, rows: list[dict], seed: int):
        self.rows = rows
        self.rng = random.Random(seed)
        self.chosen: dict[int, str] = {}
        self.per_category: dict[str, int] = {}

    def allowed(self, c: int) -> bool:
        return c not in self.chosen and all(self.per_category.get(n, 0) < MAX_PER_CATEGORY
                                            for n in self.rows[c]["categories"])

    def pick(self, c: int, stratum: str) -> None:
        self.chosen[c] = stratum
        for n in set(self.rows[c]["categories"]):
            self.per_category[n] = self.per_category.get(n, 0) + 1

    def take(self, stratum: str, candidates: list[int], count: int,
             spread: bool = False) -> None:
        if spread:  # evenly along the order given: the first allowed pair at or after each step
            for k in range(count):
                start = round(k * (len(candidates) - 1) / max(1, count - 1))
                found = next((c for c in candidates[start:] if self.allowed(c)), None)
                if found is not None:
                    self.pick(found, stratum)
            return
        taken = 0
        for c in self.rng.sample(candidates, len(candidates)):
            if taken < count and self.allowed(c):
                self.pick(c, stratum)
                taken += 1

    def sweep(self, within: list[int], count: int) -> None:
        """Each swept measure's whole range: collapsed categories make most within-category
        pairs look alike, so a threshold may sit high."""
        for m in SWEPT:
            ordered = sorted(within, key=lambda k: self.rows[k][m])
            self.take(f"sweep {m}", ordered[len(ordered) // 100:99 * len(ordered) // 100],
                      count, spread=True)

    def result(self) -> list[tuple[str, dict]]:
        return [(stratum, self.rows[k]) for k, stratum in self.chosen.items()]


def choose(rows: list[dict], seed: int) -> list[tuple[str, dict]]:
    """~120 (stratum, pair) over the measures' range; a pair is picked at most once."""
    picker = _Picker(rows, seed)
    take = picker.take
    within = [k for k, r in enumerate(rows) if r["kind"] == "within"]
    cross = [k for k, r in enumerate(rows) if r["kind"] == "cross"]
    by_mean = sorted(within, key=lambda k: rows[k]["rank_mean"])
    take("all measures near", by_mean[:len(by_mean) // 50], 10)
    take("all measures far", by_mean[-len(by_mean) // 4:], 8)
    take("same seed, two truncations",
         [k for k, r in enumerate(rows) if r["kind"] == "truncation"], 4)
    cross_near = sorted(cross, key=lambda k: rows[k]["rank_mean"])
    take("cross-category, nearest", cross_near[:40], 5)
    take("cross-category, random", cross, 4)
    disagree = {  # pairs one measure calls near and another far: they decide between measures
        "grey near, colour far": lambda r: r["rank_dhash_grey"] < 0.1 and r["rank_thumb16"] > 0.5,
        "colour near, grey far": lambda r: r["rank_thumb16"] < 0.1 and r["rank_dhash_grey"] > 0.5,
        "shift-tolerant near, thumb16 far":
            lambda r: r["rank_thumb32_shift"] < 0.1 and r["rank_thumb16"] > 0.4,
        "classifier near, pixels far":
            lambda r: r["rank_classifier_cos"] < 0.05 and r["rank_thumb16"] > 0.5,
    }
    for name, test in disagree.items():
        take(name, [k for k in within if test(rows[k])], 4)
    take("within-category, random", within, 24)
    picker.sweep(within, 10)
    return picker.result()


def choose_styled(rows: list[dict], seed: int) -> list[tuple[str, dict]]:
    """120 (stratum, pair) for a model whose seeds draw a style: within-category pairs of one
    style and of two, each at random and where pixels disagree with the style, sweeps, a few
    cross-category pairs and same-seed checks."""
    picker = _Picker(rows, seed)
    take = picker.take
    within = [k for k, r in enumerate(rows) if r["kind"] == "within"]
    cross = [k for k, r in enumerate(rows) if r["kind"] == "cross"]
    one_style = [k for k in within if rows[k]["same_style"]]
    two_styles = [k for k in within if not rows[k]["same_style"]]
    by_mean = sorted(within, key=lambda k: rows[k]["rank_mean"])
    take("all measures near", by_mean[:len(by_mean) // 50], 8)
    take("all measures far", by_mean[-len(by_mean) // 4:], 7)
    take("same seed, two truncations",
         [k for k, r in enumerate(rows) if r["kind"] == "truncation"], 4)
    take("cross-category, nearest", sorted(cross, key=lambda k: rows[k]["rank_mean"])[:40], 5)
    take("cross-category, random", cross, 4)
    take("one style, pixels far", [k for k in one_style if rows[k]["rank_thumb16"] > 0.5], 6)
    take("two styles, pixels near", [k for k in two_styles if rows[k]["rank_thumb16"] < 0.1], 6)
    take("one style, random", one_style, 20)
    take("two styles, random", two_styles, 20)
    picker.sweep(within, 8)
    # a sweep step that finds no category left under the cap leaves a gap: fill it
    take("one style, random", one_style, SHEET_PAIRS - len(picker.chosen))
    return picker.result()


def _cell(a: np.ndarray, b: np.ndarray, number: int) -> Image.Image:
    side = a.shape[0] * max(1, SHOWN_SIZE // a.shape[0])
    cell = Image.new("RGB", (44 + 2 * side + 10, side + 12), (200, 200, 200))
    for x, picture in ((40, a), (40 + side + 10, b)):
        cell.paste(Image.fromarray(picture).resize((side, side), Image.Resampling.NEAREST),
                   (x, 6))
    ImageDraw.Draw(cell).text((4, side // 2), f"{number:3d}", fill=(0, 0, 0))
    return cell


def render_sheets(pairs: list[tuple[np.ndarray, np.ndarray]], out: Path) -> list[Path]:
    """Pairs -> PNG sheets of ``PAIRS_PER_SHEET`` (3 columns), numbered from 1."""
    paths = []
    columns = 3
    for sheet, start in enumerate(range(0, len(pairs), PAIRS_PER_SHEET), 1):
        cells = [_cell(a, b, start + k + 1)
                 for k, (a, b) in enumerate(pairs[start:start + PAIRS_PER_SHEET])]
        w, h = cells[0].size
        rows = -(-len(cells) // columns)
        page = Image.new("RGB", (columns * (w + 16), rows * (h + 8)), (255, 255, 255))
        for k, cell in enumerate(cells):
            page.paste(cell, ((k % columns) * (w + 16), (k // columns) * (h + 8)))
        path = out / f"pairs-{sheet}.png"
        # 256 colours (median cut, no dither): a quarter of the bytes, 2.4 levels off on
        # average; pairs.json's recipes give the exact pictures
        page.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
                      ).save(path, optimize=True)
        paths.append(path)
    return paths


QUESTION = ("Would a visitor who sees both pictures on the same site think they are the same "
            "picture (a copy, perhaps slightly shifted or recoloured) rather than two different "
            "pictures of one thing?")


def recipe(p: Picture, styles: list[str] | None = None) -> dict:
    return {"model": p.model_id, "category": p.category, "seed": p.seed,
            "truncation": p.truncation} | ({} if styles is None or p.style is None
                                           else {"style": styles[p.style]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("galleries", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/duplicates-calibration"))
    parser.add_argument("--model", default="emoji64")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--measure-key", type=Path,
                        help="only fill in the measures of this judged pairs.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.measure_key:
        measure_key(args.measure_key, args.galleries, args.model)
        return
    pictures = load_pictures(args.galleries)
    styles = model_styles(args.model)
    if styles is not None:
        for p, style in zip(pictures, seed_styles(args.model, [p.seed for p in pictures], 0.7),
                            strict=True):
            p.style = style
    d = describe(pictures, args.model)
    rows = [{"i": i, "j": j, "kind": kind,
             "categories": (pictures[i].category, pictures[j].category),
             "same_style": pictures[i].style == pictures[j].style} | measure(d, i, j)
            for i, j, kind in candidate_pairs(pictures, args.seed)]
    _ranks(rows)
    chosen = (choose if styles is None else choose_styled)(rows, args.seed)
    random.Random(args.seed).shuffle(chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    key, sheet_pairs = {}, []
    for number, (stratum, r) in enumerate(chosen, 1):
        a, b = pictures[r["i"]], pictures[r["j"]]
        if random.Random(args.seed * 1000 + number).random() < 0.5:  # left/right not by order
            a, b = b, a
        sheet_pairs.append((a.pixels, b.pixels))
        key[str(number)] = {"left": recipe(a, styles), "right": recipe(b, styles),
                            "kind": r["kind"],
                            "stratum": stratum, "measures": {m: r[m] for m in MEASURES},
                            "within_category_percentile": {
                                m: round(r[f"rank_{m}"], 4) for m in MEASURES}}
    render_sheets(sheet_pairs, args.out)
    summary = quantiles(rows, ("within", "truncation", "cross"), styles is not None)
    strata: dict[str, int] = {}
    for stratum, _ in chosen:
        strata[stratum] = strata.get(stratum, 0) + 1
    (args.out / "pairs.json").write_text(json.dumps(
        {"question": QUESTION, "seed": args.seed, "galleries": [str(g) for g in args.galleries],
         "pictures": len(pictures), "strata": strata, "distributions": summary,
         "pairs": key}, indent=1) + "\n")
    lines = [f"# {QUESTION}", "# Answer each line with 'same' or 'different' "
             "(sheets pairs-1.png ... in this folder; judge alone, without pairs.json).", ""]
    lines += [f"{n}: same|different" for n in range(1, len(chosen) + 1)]
    (args.out / "answers-template.txt").write_text("\n".join(lines) + "\n")
    print(json.dumps({"pictures": len(pictures), "pairs_measured": len(rows),
                      "strata": strata, **summary}, indent=1))


if __name__ == "__main__":
    main()
