"""emoji64 drawn in the visitor's browser: milliseconds per picture in headless Chromium
(onnxruntime-web: WebAssembly, and WebGPU on whatever adapter Chromium has) beside onnxruntime in
Python and PyTorch on the same CPU, in one run, and the live page's weight for each runtime
(ONNX model + runtime, raw and gzip).

Goal (issue 19): in-browser time within 2x of PyTorch's per-picture time at batch 1; the first
picture within 1 s of the page loading. The page is ``write_live_page``'s, served from a local
HTTP server twice: plainly (one WebAssembly thread, as on a host that cannot send headers) and
with the COOP/COEP headers ``serve --live`` sends (cross-origin isolated: threads); the first
picture is timed on a fresh browser context and again on its reload (files from the HTTP cache,
compiled WebAssembly from V8's code cache). A picture's
browser time is the canvas's ``data-ms``: noise, inference and painting, one "Draw another"
click each; Python sides time the same work (noise, network, uint8), PyTorch at torch's default
thread count and at 1 (on a shared CPU more threads can be slower), the faster as the peer.
WebGPU: Chromium started with --enable-unsafe-webgpu, "Run on: WebGPU" chosen on the page; the
adapter it reports is printed. On a machine without a GPU it is SwiftShader, a software
rasteriser on the CPU: a correctness check of the WebGPU path, not a GPU's speed.

Usage: python benchmarks/browser.py [--pictures 30] [--loads 5] [--webgpu-pictures 5 (0: skip)]
           [--work bench-browser]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch

from ganpage.models import load_generator
from ganpage.models.generator import to_uint8
from ganpage.noise import truncated_noise
from ganpage.web.live_page import ASSETS, ISOLATION_HEADERS, ONNX_FILE, PAGE, write_live_page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TRUNCATION = 0.7
FIRST_PICTURE_GOAL_MS = 1000


def serve(folder: Path, isolated: bool) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A local static server for ``folder``; ``isolated`` adds the COOP/COEP headers."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".mjs": "text/javascript", ".wasm": "application/wasm"}

        def end_headers(self):
            if isolated:
                for name, value in ISOLATION_HEADERS.items():
                    self.send_header(name, value)
            super().end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/{PAGE}"


def in_chromium(url: str, pictures: int, loads: int) -> dict:
    """Median ms per picture after the first, the first picture's ms since navigation start
    (median over ``loads`` fresh pages, and over their reloads) and the number of WebAssembly
    threads."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        first, again = [], []
        for _ in range(loads):
            context = browser.new_context()  # a fresh cache: every file loads again
            page = context.new_page()
            for visits in (first, again):  # a first visit, then a reload (HTTP + code cache)
                if visits is first:
                    page.goto(url + "?category=hamster&seed=1")
                else:
                    page.reload()
                page.wait_for_selector("#picture[data-state=done]", timeout=60_000)
                visits.append(float(page.locator("#picture").get_attribute(
                    "data-since-load-ms")))
            context.close()
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#picture[data-state=done]", timeout=60_000)
        times = drawing_times(page, pictures)
        threads = page.locator("#status").text_content().split("WebAssembly, ")[1].split()[0]
        browser.close()
    return {"ms": statistics.median(times), "first_ms": statistics.median(first),
            "first_range": (min(first), max(first)),
            "first_under_goal": sum(ms <= FIRST_PICTURE_GOAL_MS for ms in first),
            "again_ms": statistics.median(again), "threads": int(threads)}


def drawing_times(page, pictures: int) -> list[float]:
    """The canvas's data-ms of ``pictures`` "Draw another" clicks."""
    times = []
    for _ in range(pictures):
        previous = page.url
        page.click("#another")
        page.wait_for_function("(p) => document.getElementById('picture').dataset.state "
                               "=== 'done' && location.href !== p", arg=previous)
        times.append(float(page.locator("#picture").get_attribute("data-ms")))
    return times


def in_chromium_webgpu(url: str, pictures: int) -> dict | None:
    """Median ms per picture on the page's WebGPU runtime, and the adapter's name; None when
    this Chromium offers no adapter."""
    from playwright.sync_api import sync_playwright

    args = [arg for arg in CHROMIUM_ARGS if arg != "--disable-gpu"] + ["--enable-unsafe-webgpu"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page()
        page.set_default_timeout(300_000)
        page.goto(url + "?category=hamster&seed=1")
        page.wait_for_selector("#picture[data-state=done]")
        adapter = page.evaluate("""async () => { const a = await navigator.gpu?.requestAdapter();
            return a ? `${a.info.vendor} ${a.info.architecture}`.trim() +
              (a.info.isFallbackAdapter ? ", a fallback (software) adapter" : "") : null; }""")
        if adapter is None:
            browser.close()
            return None
        page.select_option("#backend", "webgpu")
        page.wait_for_selector("#picture[data-backend=webgpu][data-state=done]")
        times = drawing_times(page, pictures)
        browser.close()
    return {"ms": statistics.median(times), "adapter": adapter}


def timed(draw, pictures: int) -> float:
    """Median ms of ``draw(seed)`` over ``pictures`` seeds, after one warm-up."""
    draw(0)
    times = []
    for seed in range(1, pictures + 1):
        start = time.perf_counter()
        draw(seed)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def python_sides(onnx_path: Path, pictures: int) -> dict:
    import onnxruntime

    generator = load_generator("emoji64", dtype="float32")
    hamster = generator.categories.by_slug("hamster").id
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    labels = np.array([hamster])

    def with_onnxruntime(seed: int) -> np.ndarray:
        z = truncated_noise([seed], generator.z_dim, TRUNCATION)
        return to_uint8(torch.from_numpy(session.run(None, {"noise": z, "labels": labels})[0]))

    pytorch = {}
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        pytorch[threads] = timed(lambda s: generator.sample([hamster], [s], TRUNCATION),
                                 pictures)
    torch.set_num_threads(default_threads)
    best = min(pytorch, key=pytorch.get)  # the peer at its best thread count on this machine
    return {"pytorch": pytorch[best], "torch_threads": best, "all_pytorch": pytorch,
            "onnxruntime": timed(with_onnxruntime, pictures)}


# what the page downloads for each runtime, beside the model (web/vendor/onnxruntime-web)
RUNTIME_FILES = {"WebAssembly": ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs",
                                 "ort-wasm-simd-threaded.wasm"),
                 "WebGPU": ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                            "ort-wasm-simd-threaded.asyncify.wasm")}


def page_weight(site: Path) -> dict:
    """Bytes of the model plus each runtime, raw and gzipped (level 6, a server's usual)."""
    model = site / ASSETS / "model" / ONNX_FILE
    weights = {}
    for runtime, names in RUNTIME_FILES.items():
        files = [model, *(site / ASSETS / "ort" / name for name in names)]
        weights[runtime] = {
            "raw": sum(f.stat().st_size for f in files),
            "gzip": sum(len(gzip.compress(f.read_bytes(), compresslevel=6)) for f in files)}
    return {"model": model.stat().st_size, "runtimes": weights}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pictures", type=int, default=30)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--webgpu-pictures", type=int, default=5,
                        help="pictures timed on WebGPU (seconds each on a software adapter)")
    parser.add_argument("--work", type=Path, default=Path("bench-browser"))
    args = parser.parse_args()
    site = args.work / "site"
    write_live_page("emoji64", site)  # exports emoji64 once (cached), then copies
    results = {}
    for isolated in (False, True):
        server, url = serve(site, isolated)
        try:
            results[isolated] = in_chromium(url, args.pictures, args.loads)
        finally:
            server.shutdown()
    webgpu = None
    if args.webgpu_pictures > 0:
        server, url = serve(site, False)
        try:
            webgpu = in_chromium_webgpu(url, args.webgpu_pictures)
        finally:
            server.shutdown()
    python = python_sides(site / ASSETS / "model" / ONNX_FILE, args.pictures)
    weight = page_weight(site)
    print(f"emoji64, batch 1, median of {args.pictures} pictures (ms per picture):")
    for threads, ms in python["all_pytorch"].items():
        print(f"  PyTorch, {threads} thread(s):     {ms:.1f}")
    print(f"  (the peer below: PyTorch at {python['torch_threads']} thread(s), its faster)")
    print(f"  onnxruntime in Python:   {python['onnxruntime']:.1f}")
    for isolated, found in results.items():
        label = f"Chromium WASM, {found['threads']} thread(s)"
        print(f"  {label:<26} {found['ms']:.1f} ({found['ms'] / python['pytorch']:.2f}x "
              f"PyTorch; goal <= 2x); first picture {found['first_ms']:.0f} ms after "
              f"navigation (goal <= {FIRST_PICTURE_GOAL_MS}; {found['first_range'][0]:.0f}-"
              f"{found['first_range'][1]:.0f}, {found['first_under_goal']} of {args.loads} "
              f"within it), {found['again_ms']:.0f} ms on a reload (medians of {args.loads} "
              "loads)" + ("  [COOP/COEP]" if isolated else ""))
    if args.webgpu_pictures <= 0:
        print("  Chromium WebGPU:          not measured (--webgpu-pictures 0)")
    elif webgpu is None:
        print("  Chromium WebGPU:          not measured (this Chromium offers no adapter)")
    else:
        ratio = webgpu["ms"] / python["pytorch"]
        print(f"  Chromium WebGPU:          {webgpu['ms']:.1f} ({ratio:.2f}x PyTorch; median of "
              f"{args.webgpu_pictures}) on {webgpu['adapter']}")
    print(f"page weight: model {weight['model'] / 1e6:.1f} MB, and with its runtime:")
    for runtime, sizes in weight["runtimes"].items():
        print(f"  {runtime + ':':<13} {sizes['raw'] / 1e6:.1f} MB raw, "
              f"{sizes['gzip'] / 1e6:.1f} MB gzip")


if __name__ == "__main__":
    main()
