"""Shared fixtures: a tiny randomly initialised model folder and a small gallery made from it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from ganpage.gallery import Gallery
from ganpage.generate import TruncationRange, choose_categories, generate, plan
from ganpage.models import load_generator
from helpers.biggan import tiny_biggan
from helpers.models import make_tiny_model
from helpers.servers import free_port, wait_for_http
from helpers.training import colour_dataset


@pytest.fixture(scope="session", autouse=True)
def private_ganpage_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """$GANPAGE_CACHE of the whole session, inherited by every server it starts: the ONNX
    export `serve --live` makes in the background for /live (and any conversion) lands here,
    not in the user's ~/.cache/ganpage. A test that needs a cache of its own sets it itself."""
    cache = tmp_path_factory.mktemp("ganpage-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANPAGE_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="session")
def tiny_biggan_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BigGAN-deep model folder (helpers.biggan), made once a session (shared: do not
    modify). Its ONNX export is the slowest of the test models' (~20 s on a quiet machine:
    the exporter's cost grows with the graph, not the weights), so tests that need it ask
    cached_export, which makes it once in the session's cache."""
    return tiny_biggan(tmp_path_factory.mktemp("tiny-biggan") / "model")


@pytest.fixture(scope="session")
def colour_classifier_run(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A classifier that tells red, green and blue pictures apart, trained once a session (80
    epochs, ~10 s): ``data`` (helpers.training.colour_dataset), ``folder`` (the classifier) and
    ``metrics`` (what train_classifier returned). Shared: do not modify."""
    from ganpage.classifiers.trained import train_classifier

    root = tmp_path_factory.mktemp("colours")
    data = colour_dataset(root / "data")
    metrics = train_classifier(data, root / "cls", epochs=80, batch_size=8, channels=8,
                               show_progress=False)
    return SimpleNamespace(data=data, folder=root / "cls", metrics=metrics)


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    return make_tiny_model(tmp_path / "tiny-model")


@pytest.fixture(scope="session")
def tiny_gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gallery of 3 categories x 4 pictures, all approved (shared: do not modify)."""
    folder = tmp_path_factory.mktemp("tiny-gallery")
    generator = load_generator(make_tiny_model(folder / "model"))
    jobs = plan(generator, choose_categories(generator), 4, TruncationRange.parse("0.5:0.9"))
    root = folder / "gallery"
    with Gallery.open(root, create=True) as gallery:
        generate(generator, gallery, jobs, batch_size=5, show_progress=False)
        gallery.set_status("approved")
    return root


@pytest.fixture(scope="session", params=["granian", "uvicorn"])
def live_server(request: pytest.FixtureRequest, tiny_gallery: Path):
    """`ganpage serve` on the tiny gallery, as a real server process on 127.0.0.1."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", str(tiny_gallery), "--port", str(port),
         "--server", request.param],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/api/categories", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


# -- Ctrl-C in tests ----------------------------------------------------------------------------
# A background job of a non-interactive shell (`pytest &`, CI runners, nohup) starts with SIGINT
# ignored, and children inherit that: a SIGINT sent to test a graceful stop is then lost, and
# the job it should stop runs on. These put the interactive default back where a test needs it.


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """Within the test, SIGINT raises KeyboardInterrupt, as in an interactive shell."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def reap() -> Iterator[Callable[[subprocess.Popen], subprocess.Popen]]:
    """Register child processes; each one still running when the test ends (it failed or timed
    out) is killed with its process group and waited for, so no training outlives its test."""
    children: list[subprocess.Popen] = []

    def register(child: subprocess.Popen) -> subprocess.Popen:
        children.append(child)
        return child

    yield register
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            child.kill()
            child.wait(timeout=30)
