"""The live page: "This X Does Not Exist — drawn right now in your browser". The model's ONNX
generator runs in the visitor's browser with the vendored onnxruntime-web: its WebGPU build
where the browser has a GPU adapter, its WebAssembly build otherwise (``live.js`` chooses; the
browser downloads only the build it runs).

One page, two hosts: ``write_live_page`` puts ``live.html`` and its ``live/`` folder into a
static site (``build-site --live MODEL``), and ``live_page_routes.py`` serves the same files
at ``/live`` and ``/live/<file>`` (``serve --live MODEL``). The page links its files relatively
(``live/live.js``), so both work from any sub-path. Its files are a fixed table: no request path
is ever joined to a file name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ganpage.atomic import atomic_write_bytes
from ganpage.blurb import title_for
from ganpage.recipe import DEFAULT_TRUNCATION

WEB = Path(__file__).parent
VENDOR = WEB / "vendor" / "onnxruntime-web"
PAGE = "live.html"
ASSETS = "live"  # the page's folder, beside it
# onnx_export's names (imported there only when a page is made: it imports torch)
ONNX_FILE = "generator.float32.onnx"  # WebAssembly has no fast float16 convolutions
MANIFEST = "manifest.json"
# The site's policy plus WebAssembly compilation, which 'self' alone does not allow.
LIVE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; "
    "script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; worker-src 'self'; "
    "base-uri 'none'; form-action 'self'")
# Cross-origin isolation lets onnxruntime-web use threads (SharedArrayBuffer); headers only,
# so a static host gives them if it can (docs) and the page runs single-threaded otherwise.
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin",
                     "Cross-Origin-Embedder-Policy": "require-corp"}
PACKAGE_FILES = {"live.js": WEB / "live_assets" / "live.js",
                 "recipe.js": WEB / "live_assets" / "recipe.js",
                 "live.css": WEB / "live_assets" / "live.css",
                 "noise.js": WEB / "static" / "noise.js",
                 "site.css": WEB / "static" / "site.css",
                 "favicon.svg": WEB / "static" / "favicon.svg"}

# The two builds of onnxruntime-web the page can load (scripts/vendor_onnxruntime_web.sh)
RUNTIME_FILES = {"wasm": ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs",
                          "ort-wasm-simd-threaded.wasm"),
                 "webgpu": ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                            "ort-wasm-simd-threaded.asyncify.wasm")}
RUNTIMES = tuple(RUNTIME_FILES)


def runtime_files(runtimes: tuple[str, ...] = RUNTIMES) -> dict[str, Path]:
    """``ort/<name>`` -> the vendored onnxruntime-web file, for the runtimes named, with the
    licence and version (the files SHA256SUMS lists)."""
    names = [line.split("  ", 1)[1] for line in
             (VENDOR / "SHA256SUMS").read_text().splitlines() if line]
    left_out = {name for runtime in set(RUNTIMES) - set(runtimes)
                for name in RUNTIME_FILES[runtime]}
    return {f"ort/{name}": VENDOR / name for name in names if name not in left_out}


def runtime_version() -> str:
    return (VENDOR / "VERSION").read_text().split("\n", 1)[0].split()[-1]


@dataclass
class LivePage:
    """The page and its files for one model; the ONNX export is made (or found in the cache)
    on first use."""

    model: str
    site_name: str = "This X Does Not Exist"
    home: str = "./"
    runtimes: tuple[str, ...] = RUNTIMES  # ("wasm",): a site without the WebGPU build

    @cached_property
    def onnx_folder(self) -> Path:
        from ganpage.onnx_export import cached_export

        return cached_export(self.model)

    @cached_property
    def manifest(self) -> dict:
        return json.loads((self.onnx_folder / MANIFEST).read_text())

    def info(self) -> dict:
        """``live.json``: what live.js needs to call the model and name its pictures."""
        manifest = self.manifest
        return {"model_id": manifest["model_id"], "z_dim": manifest["z_dim"],
                "resolution": manifest["resolution"],
                "truncation_input": "truncation" in manifest["inputs"],
                "num_styles": manifest.get("num_styles", 0),
                "default_truncation": DEFAULT_TRUNCATION,
                "runtimes": list(self.runtimes),
                "classes": [{**item, "title": title_for(item["name"])}
                            for item in manifest["classes"]]}

    def html(self) -> str:
        template = _templates().get_template("live.html")
        return template.render(csp=LIVE_CONTENT_SECURITY_POLICY, assets=f"{ASSETS}/",
                               home=self.home, site_name=self.site_name, thing="X",
                               model_id=self.manifest["model_id"],
                               size=self.manifest["resolution"], ort_version=runtime_version(),
                               runtimes=" ".join(self.runtimes))

    def files(self) -> dict[str, Path]:
        """Asset name (below ``live/``) -> the file on disk, except the generated live.json."""
        return {**PACKAGE_FILES, **runtime_files(self.runtimes),
                f"model/{ONNX_FILE}": self.onnx_folder / ONNX_FILE,
                f"model/{MANIFEST}": self.onnx_folder / MANIFEST}


def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(WEB / "templates"),
                       autoescape=select_autoescape(["html"]))


def write_live_page(model: str | os.PathLike, out: Path, site_name: str = "This X Does Not Exist",
                    home: str = "./", runtimes: tuple[str, ...] = RUNTIMES) -> list[Path]:
    """Write ``live.html`` and ``live/`` (scripts, styles, runtimes, the model's ONNX) into
    ``out``, each file atomically and only if its bytes changed; returns the files written."""
    page = LivePage(str(model), site_name, home, runtimes)
    wanted = {out / PAGE: page.html().encode(),
              out / ASSETS / "live.json": json.dumps(page.info()).encode()}
    wanted.update({out / ASSETS / name: source.read_bytes()
                   for name, source in page.files().items()})
    written = []
    for path, data in wanted.items():
        if not path.is_file() or path.read_bytes() != data:
            atomic_write_bytes(path, data)
            written.append(path)
    return written
