"""Find, load and save generators: built-in names, local folders and Hugging Face repo ids.

A model folder holds ``config.json`` (``architecture``, ``model_id``, ``config``), ``classes.json``
(the categories), ``model.safetensors`` (the generator's state dict), ``README.md`` (the card)
and optionally ``category_scores.json`` (how well it draws each category; see ``curate``).
Weights are data, never code: safetensors only, loaded with strict key and shape checks.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ganpage.atomic import atomic_write_text, atomic_write_with
from ganpage.categories import CategorySet, imagenet_categories
from ganpage.errors import GanpageError
from ganpage.models.biggan import BigGANConfig, BigGANDeep
from ganpage.models.cgan import CGANConfig, CGANGenerator
from ganpage.models.generator import Generator

WEIGHTS_FILE = "model.safetensors"
CATEGORY_SCORES = "category_scores.json"
MODEL_FILES = ("config.json", "classes.json", WEIGHTS_FILE, "README.md", CATEGORY_SCORES)
HUB_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ModelLoadError(GanpageError):
    """A model that cannot be found or whose files do not match its config."""


def build_cgan(config: dict) -> tuple[nn.Module, int, int]:
    """Architecture builder: returns (network, z_dim, image_size)."""
    cfg = CGANConfig.from_dict(config)
    return CGANGenerator(cfg), cfg.z_dim, cfg.image_size


def build_biggan_deep(config: dict) -> tuple[nn.Module, int, int]:
    cfg = BigGANConfig.from_dict(config)
    return BigGANDeep(cfg), cfg.z_dim, cfg.output_dim


# architecture name (config.json "architecture") -> builder of an untrained network
ARCHITECTURES: dict[str, Callable[[dict], tuple[nn.Module, int, int]]] = {
    "ganpage-cgan": build_cgan,
    "biggan-deep": build_biggan_deep,
}

# built-in names of models fetched from the Hugging Face Hub (published BigGAN-deep weights in
# the pytorch-pretrained-biggan layout: config.json + pytorch_model.bin)
HUB_MODELS = {
    "biggan-deep-128": "osanseviero/BigGAN-deep-128",
    "biggan-deep-256": "osanseviero/BigGAN-deep-256",
    "biggan-deep-512": "osanseviero/BigGAN-deep-512",
}
REFERENCE_WEIGHTS = "pytorch_model.bin"


def builtin_models() -> dict[str, Path]:
    """Names of the models shipped inside the package, with their folders."""
    root = Path(str(resources.files("ganpage") / "resources" / "models"))
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "config.json").is_file()}


def resolve_model_dir(name_or_path: str | os.PathLike) -> Path:
    """Turn a built-in name, local folder or Hugging Face repo id into a local folder."""
    text = str(name_or_path)
    builtin = builtin_models()
    if text in builtin:
        return builtin[text]
    path = Path(text).expanduser()
    if path.is_dir():
        return converted_if_reference(path)
    known = ", ".join([*builtin, *HUB_MODELS])
    if path.exists():
        raise ModelLoadError(f"{text} is a file; give a model folder (from `ganpage "
                             f"export-model`) or a built-in name ({known})")
    if text in HUB_MODELS:
        return converted_if_reference(_download_from_hub(HUB_MODELS[text]), model_id=text)
    if HUB_REPO_ID.fullmatch(text) and not looks_local(text):
        return converted_if_reference(_download_from_hub(text))
    if looks_local(text):
        missing = _first_missing(path)
        where = "" if missing == path else f" ({missing} does not exist)"
        raise ModelLoadError(f"no model folder {text}{where}; give a model folder (from "
                             f"`ganpage export-model`) or a built-in name ({known})")
    raise ModelLoadError(
        f"no model {text!r}: not a built-in name ({known}), a local folder, or an owner/name "
        "Hugging Face repo id"
    )


def looks_local(text: str) -> bool:
    """Whether a name that is no folder was meant as one: written as a path (/, ~, ./, ../,
    a third part) or inside a folder that exists here ('models/nope' beside models/)."""
    path = Path(text).expanduser()
    return (text.startswith(("/", ".", "~")) or len(path.parts) > 2
            or (len(path.parts) == 2 and path.parent.is_dir()))


def _first_missing(path: Path) -> Path:
    """The outermost part of ``path`` that does not exist."""
    while not path.parent.exists() and path.parent != path:
        path = path.parent
    return path


def _download_from_hub(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id,
                                      allow_patterns=[*MODEL_FILES, REFERENCE_WEIGHTS,
                                                      "classifier/*"]))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelLoadError(
            f"could not fetch {repo_id!r} from the Hugging Face Hub ({first_line}); there is "
            "no local folder of that name either: download it elsewhere and pass the folder"
        ) from error


def check_device(device: str) -> torch.device:
    """The torch device named by ``device`` ('cpu', 'cuda', 'cuda:1', 'mps'), if this machine
    has it; otherwise one ModelLoadError naming the devices there are."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        parsed = None
    if parsed is None or parsed.type not in DEVICE_COUNTS:
        raise ModelLoadError(f"unknown device {device!r}; use cpu, cuda, cuda:N or mps")
    count = DEVICE_COUNTS[parsed.type]()
    if count == 0 or (parsed.type != "cpu" and (parsed.index or 0) >= count):
        there = ", ".join(["cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))])
        raise ModelLoadError(f"this machine has no {device} device; use one of: {there}")
    return parsed


# device type -> how many this machine has
DEVICE_COUNTS: dict[str, Callable[[], int]] = {
    "cpu": lambda: 1,
    "cuda": lambda: torch.cuda.device_count() if torch.cuda.is_available() else 0,
    "mps": lambda: int(torch.backends.mps.is_available()),
}


# --precision name -> weight dtype; auto (None) lets Generator.to pick (ganpage.precision)
DTYPES: dict[str, torch.dtype | None] = {"auto": None, "float32": torch.float32,
                                         "bfloat16": torch.bfloat16}


def load_generator(name_or_path: str | os.PathLike, device: str = "cpu",
                   dtype: str | None = None) -> Generator:
    """Load a generator by built-in name, local folder or Hugging Face repo id.

    ``dtype``: "float32", "bfloat16", or "auto"/None: bfloat16 where the device computes it
    faster (CUDA, CPUs with AMX or AMD's AVX512-BF16), float32 elsewhere.
    """
    if dtype is not None and dtype not in DTYPES:
        raise ModelLoadError(f"unknown precision {dtype!r}; use auto, float32 or bfloat16")
    check_device(device)
    folder = resolve_model_dir(name_or_path)
    meta = _read_json(folder / "config.json")
    architecture = meta.get("architecture")
    if architecture not in ARCHITECTURES:
        raise ModelLoadError(
            f"{folder / 'config.json'}: unknown architecture {architecture!r} "
            f"(known: {', '.join(ARCHITECTURES)})"
        )
    net, z_dim, image_size = ARCHITECTURES[architecture](meta.get("config", {}))
    load_state_dict_strict(net, read_safetensors(folder / WEIGHTS_FILE))
    net.prepare_for_inference()
    categories = CategorySet.read(folder / "classes.json")
    card = (folder / "README.md").read_text() if (folder / "README.md").is_file() else ""
    model_id = meta.get("model_id") or folder.name
    generator = Generator(net, categories, model_id, z_dim, image_size, card=card,
                          category_scores=read_category_scores(folder, categories))
    return generator.to(device, DTYPES[dtype or "auto"])


def read_category_scores(folder: Path, categories: CategorySet) -> dict[int, float]:
    """Class id -> score from the folder's ``category_scores.json``; {} if it has none."""
    path = folder / CATEGORY_SCORES
    if not path.is_file():
        return {}
    document = _read_json(path)
    scores = document.get("scores") if isinstance(document, dict) else None
    ids = {category.slug: category.id for category in categories}
    if not isinstance(scores, dict) or set(scores) != set(ids) or not all(
            isinstance(value, int | float) for value in scores.values()):
        raise ModelLoadError(f"{path} does not score this model's categories; re-make it with "
                             "`ganpage rank-categories MODEL_FOLDER --classifier CLASSIFIER`")
    return {ids[slug]: float(value) for slug, value in scores.items()}


def converted_if_reference(folder: Path, model_id: str | None = None) -> Path:
    """A folder in the pytorch-pretrained-biggan layout is converted once into the cache (strict
    key/shape check, safetensors, ImageNet classes); any other folder is returned as it is."""
    if not (folder / REFERENCE_WEIGHTS).is_file() or (folder / WEIGHTS_FILE).is_file():
        return folder
    raw = _read_json(folder / "config.json")
    if not isinstance(raw, dict) or "layers" not in raw or "channel_width" not in raw:
        raise ModelLoadError(f"{folder / 'config.json'} is not a BigGAN-deep config (no "
                             "'layers'/'channel_width')")
    config = BigGANConfig.from_dict(raw)
    digest = _file_digest(folder / REFERENCE_WEIGHTS)
    target = conversion_cache() / f"biggan-deep-{config.output_dim}-{digest[:16]}"
    if (target / WEIGHTS_FILE).is_file():
        return target
    net = BigGANDeep(config)
    load_state_dict_strict(net, read_reference_weights(folder / REFERENCE_WEIGHTS))
    net.fold_spectral_norm()  # saved folded: every later load skips the division
    categories = imagenet_categories() if config.num_classes == 1000 else \
        CategorySet.from_names([f"Class {i}" for i in range(config.num_classes)])
    card = (f"# {model_id or target.name}\n\nBigGAN-deep {config.output_dim}x"
            f"{config.output_dim} (Brock et al. 2019, arXiv:1809.11096), trained by DeepMind on "
            "ImageNet-1k; weights converted from the published PyTorch checkpoint.\n")
    return save_model(target, architecture="biggan-deep",
                      model_id=model_id or f"biggan-deep-{config.output_dim}",
                      config=config.to_dict(), net=net, categories=categories, card=card)


def read_reference_weights(path: Path) -> dict[str, torch.Tensor]:
    """A pickled state dict, read as data only: anything but tensors and containers is refused."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        first = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise ModelLoadError(f"{path} was refused: it is not a plain state dict of tensors "
                             f"({first})") from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ModelLoadError(f"{path} is not a state dict of tensors")
    return state


def conversion_cache() -> Path:
    """Where converted checkpoints live: $GANPAGE_CACHE or ~/.cache/ganpage/converted."""
    root = os.environ.get("GANPAGE_CACHE") or Path("~/.cache/ganpage").expanduser()
    return Path(root) / "converted"


def _file_digest(path: Path) -> str:
    """SHA-256 of a file, remembered in the conversion cache by the file's identity (path,
    inode, size, modification time), as build tools do: hashing BigGAN-deep 128's 200 MB
    took 0.27 s of every `ganpage generate`."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_ino}|{stat.st_size}|{stat.st_mtime_ns}"
    known = _read_digests()
    if key not in known:
        with open(path, "rb") as stream:
            known[key] = hashlib.file_digest(stream, "sha256").hexdigest()
        _write_digests(known)
    return known[key]


def _digests_file() -> Path:
    return conversion_cache().parent / "digests.json"


def _read_digests() -> dict[str, str]:
    """The remembered digests; {} when there are none or the file is damaged (they are only
    recomputed)."""
    try:
        known = json.loads(_digests_file().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in known.items() if isinstance(v, str)} \
        if isinstance(known, dict) else {}


def _write_digests(known: dict[str, str]) -> None:
    try:
        _digests_file().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(_digests_file(), json.dumps(known, indent=1) + "\n", durable=False)
    except OSError:  # a read-only cache: the digest is computed again next time
        pass


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file, turning a missing or corrupt file into a one-line error."""
    if not path.is_file():
        raise ModelLoadError(f"missing weights file {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise ModelLoadError(f"{path} is not a readable safetensors file ({error})") from error


def load_state_dict_strict(net: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load weights, refusing missing, unexpected or mis-shaped keys with a message naming them.

    The module adopts the given tensors (``assign``) rather than copying them into its freshly
    built ones: for BigGAN-deep 128 that copy of 200 MB took 0.7-1.2 s of a fresh process
    (page faults on both sides; 2-core machine, load 4.6)."""
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = sorted(
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items() if k in state and state[k].shape != v.shape
    )
    problems = [
        f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
        for label, keys in (("missing", missing), ("unexpected", unexpected),
                            ("wrong shape", misshaped)) if keys
    ]
    if problems:
        raise ModelLoadError("weights do not match the model config: " + "; ".join(problems))
    # in the module's dtypes, as a copying load would give (a bfloat16 file into float32)
    state = {k: v.to(dtype=expected[k].dtype) for k, v in state.items()}
    net.load_state_dict(state, strict=True, assign=True)


def save_model(folder: Path, *, architecture: str, model_id: str, config: dict,
               net: nn.Module, categories: CategorySet, card: str) -> Path:
    """Write a model folder that ``load_generator`` reads; each file is replaced atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"architecture": architecture, "model_id": model_id, "config": config}
    atomic_write_text(folder / "config.json", json.dumps(meta, indent=2) + "\n")
    atomic_write_text(folder / "classes.json", json.dumps(categories.to_dicts(), indent=1) + "\n")
    atomic_write_text(folder / "README.md", card)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    atomic_write_with(folder / WEIGHTS_FILE, lambda temporary: save_file(state, str(temporary)))
    return folder


def _read_json(path: Path) -> dict | list:
    if not path.is_file():
        raise ModelLoadError(f"missing {path.name} in {path.parent}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ModelLoadError(f"{path} is not valid JSON ({error})") from error
