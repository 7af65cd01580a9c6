"""The live page (web/live_page.py): its files and links, recipe.js against recipe.py, the
/live routes of `ganpage serve --live`, and headless Chromium drawing the built-in model's
pictures as PyTorch draws them."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ganpage.categories import CategorySet
from ganpage.defaults import DEFAULT_MODEL
from ganpage.recipe import redirect_query
from ganpage.web.draw import requested_recipe
from ganpage.web.live_page import LIVE_CONTENT_SECURITY_POLICY, PAGE, write_live_page
from helpers.browser import CHROMIUM, CHROMIUM_ARGS

RECIPE_JS = Path(__file__).parents[1] / "src" / "ganpage" / "web" / "live_assets" / "recipe.js"
CATEGORIES = CategorySet.from_names(["Hamster", "Bagel", "Tabby cat", "Ice cream"])
TRICKY_QUERIES = [
    "category=hamster&seed=7&truncation=0.7", "category=hamster&seed=7", "?category=bagel&seed=0",
    "category=hamster&seed=4294967295", "category=hamster&seed=4294967296",
    "category=hamster&seed=00000000001", "category=hamster&seed=0000000001",
    "category=hamster&seed=-1", "category=hamster&seed=1e3", "category=hamster&seed=%C2%B2",
    "category=hamster&seed=+1", "category=hamster&seed=1&truncation=1",
    "category=hamster&seed=1&truncation=1.000", "category=hamster&seed=1&truncation=1.0001",
    "category=hamster&seed=1&truncation=0", "category=hamster&seed=1&truncation=.5",
    "category=hamster&seed=1&truncation=0.", "category=hamster&seed=1&truncation=1e-1",
    "category=hamster&seed=1&truncation=0.12345678901234567",
    "category=hamster&seed=1&truncation=0.123456789012345678",
    "category=hamster&seed=1&truncation=", "category=hamster&seed=1&truncation=NaN",
    "category=hamster&seed=1&truncation=%200.5", "category=Hamster&seed=1",
    "category=tabby-cat&seed=3", "category=tabby+cat&seed=3", "category=tabby%2Dcat&seed=3",
    "category=&seed=3", "seed=3", "category=hamster", "category=hamster&seed=1&seed=2",
    "category=hamster&category=bagel&seed=1",
    "category=hamster&seed=1&truncation=0.5&truncation=0.6", "category=h%C3%A4mster&seed=1",
    "category=%27quoted%22&seed=1", "category=it%27s&seed=1", "category=back%5Cslash&seed=1",
    "category=" + "x" * 100 + "&seed=1", "category=hamster&seed=" + "9" * 50,
    "category=hamster&seed=1&" + "pad=1&" * 50, "category=%zz&seed=1",
    "category=hamster&seed=1&x=2", "category=hamster&seed=1&truncation=0.7000",
    "?category=hamster&seed=1&truncation=0.7000", "truncation=0.7000&seed=1&category=hamster",
    "category=hamster&seed=1&truncation=0.7000&", "category=hamster&seed=1&truncation=0.7000#x",
    "category=tabby-cat&seed=0&truncation=1.0000", "category=tabby%2Dcat&seed=0&truncation=1.0000",
    "category=hamster&seed=1&truncation=0.12345678901234567",
    "category=hamster&seed=1&truncation=0.12340",
]


def python_verdict(query: str) -> list:
    """What `ganpage serve` answers for the query: [slug, seed, truncation, its canonical query,
    the query it is redirected to or None], or [None, message]."""
    text = query.removeprefix("?")
    request = Request({"type": "http", "method": "GET", "path": "/live", "headers": [],
                       "query_string": text.encode()})
    try:
        recipe = requested_recipe(request, SimpleNamespace(categories=CATEGORIES))
    except HTTPException as error:
        return [None, error.detail]
    return [recipe.category.slug, recipe.seed, recipe.truncation, recipe.query(),
            redirect_query(text, recipe)]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_recipe_js_agrees_with_recipe_py_on_tricky_queries(tmp_path):
    classes = [{"id": c.id, "slug": c.slug} for c in CATEGORIES]
    script = tmp_path / "recipes.mjs"
    script.write_text(
        f"import {{ recipeFromQuery, recipeQuery, redirectQuery }} from "
        f"'{RECIPE_JS.as_posix()}';\n"
        f"const bySlug = new Map({json.dumps(classes)}.map((c) => [c.slug, c]));\n"
        f"const out = {json.dumps(TRICKY_QUERIES)}.map((query) => {{\n"
        "  try { const r = recipeFromQuery(bySlug, query);\n"
        "        return [r.category.slug, r.seed, r.truncation, recipeQuery(r),\n"
        "                redirectQuery(query, r)]; }\n"
        "  catch (error) { return [null, error.message]; }\n"
        "});\nconsole.log(JSON.stringify(out));\n")
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True)
    from_js = json.loads(result.stdout)
    accepted = canonical = 0
    for query, js in zip(TRICKY_QUERIES, from_js, strict=True):
        assert js == python_verdict(query), query
        accepted += js[0] is not None
        canonical += js[0] is not None and js[4] is None
    assert 5 < accepted < len(TRICKY_QUERIES) - 20  # both verdicts are exercised
    assert 3 <= canonical < accepted - 10  # and both kinds of accepted spelling


def builtin_size() -> int:
    from ganpage.models.loading import resolve_model_dir

    config = json.loads((resolve_model_dir(DEFAULT_MODEL) / "config.json").read_text())
    return config["config"]["image_size"]


@pytest.fixture(scope="module")
def live_site(tmp_path_factory) -> Path:
    """The default built-in model's live page written into ``<root>/mysite/`` (a sub-path, as
    on GitHub Pages); its ONNX export lands in the session's cache (conftest), where other
    modules find it."""
    root = tmp_path_factory.mktemp("site")
    write_live_page(DEFAULT_MODEL, root / "mysite", home="index.html")
    return root


def test_written_page_links_relatively_and_runs_no_inline_script(live_site):
    site = live_site / "mysite"
    html = (site / PAGE).read_text()
    links = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert links and all(not link.startswith(("/", "http")) for link in links)
    for link in set(links) - {"", "index.html"}:  # the permalink (set by live.js), the site
        assert (site / link).is_file(), link
    assert "<script>" not in html and not re.search(r"\son[a-z]+=", html)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
    assert unescape(policy) == LIVE_CONTENT_SECURITY_POLICY
    info = json.loads((site / "live" / "live.json").read_text())
    assert info["model_id"] == DEFAULT_MODEL and info["resolution"] == builtin_size()
    assert info["classes"][0]["title"].endswith("Not Exist")
    manifest = json.loads((site / "live" / "model" / "manifest.json").read_text())
    assert manifest["files"][0]["bytes"] == (site / "live" / "model" /
                                             "generator.float32.onnx").stat().st_size


def test_a_second_write_changes_nothing(live_site):
    assert write_live_page(DEFAULT_MODEL, live_site / "mysite", home="index.html") == []


@pytest.mark.slow
def test_serve_live_routes(tiny_model):
    from fastapi.testclient import TestClient

    from ganpage.web.app import SiteConfig, create_app

    app = create_app(None, SiteConfig(live_model=str(tiny_model)))
    with TestClient(app) as client:
        page = client.get("/live")
        assert page.status_code == 200 and 'id="picture"' in page.text
        assert page.headers.get_list("content-security-policy") == [LIVE_CONTENT_SECURITY_POLICY]
        assert page.headers["cross-origin-embedder-policy"] == "require-corp"
        assert client.get("/live/live.json").json()["classes"][1]["slug"] == "bagel"
        model = client.get("/live/model/generator.float32.onnx")
        manifest = client.get("/live/model/manifest.json").json()
        assert len(model.content) == manifest["files"][0]["bytes"]
        wasm = client.get("/live/ort/ort-wasm-simd-threaded.wasm")
        assert wasm.headers["content-type"] == "application/wasm"
        for path in ("/live/../pyproject.toml", "/live/%2e%2e/%2e%2e/etc/passwd",
                     "/live/live_page.py", "/live/model/model.safetensors"):
            assert client.get(path).status_code == 404, path
        assert client.head("/live").status_code == 200
        drawn_page = client.get("/draw?category=bagel&seed=1&truncation=0.7000")
        assert drawn_page.status_code == 200
        assert '<a href="/live">Drawn live</a>' in drawn_page.text


# -- In Chromium --------------------------------------------------------------------------------



def in_chromium(test):
    """A test that drives headless Chromium."""
    needs = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")
    return pytest.mark.browser(needs(test))


@pytest.fixture(scope="module")
def static_server(live_site):
    """``python -m http.server`` on the folder above the site: the page lives at /mysite/."""
    from helpers.servers import free_port, wait_for_http

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                                "127.0.0.1", "--directory", str(live_site)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/mysite/{PAGE}"
    try:
        wait_for_http(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(90_000)  # a 2-core machine shared with other jobs
    page.failures = []  # responses >= 400 and script errors
    page.on("response", lambda r: r.status >= 400 and page.failures.append(f"{r.status} {r.url}"))
    page.on("pageerror", lambda error: page.failures.append(str(error)))
    yield page
    context.close()


@pytest.fixture(scope="module")
def builtin():
    """The default built-in model, as the live page draws it (float32)."""
    from ganpage.models import load_generator

    return load_generator(DEFAULT_MODEL, dtype="float32")


def drawn(page, previous_url: str = "") -> np.ndarray:
    """Wait for the canvas to be done with a new recipe; its pixels, (H, W, 3) uint8."""
    page.wait_for_function("(previous) => document.getElementById('picture').dataset.state "
                           "=== 'done' && location.href !== previous", arg=previous_url,
                           timeout=90_000)
    rgba = page.evaluate("""() => { const c = document.getElementById('picture');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")
    size = int(page.locator("#picture").get_attribute("width"))
    return np.array(rgba, dtype=np.uint8).reshape(size, size, 4)[..., :3]


def recipe_of(url: str) -> tuple[str, int, float]:
    query = dict(part.split("=") for part in url.split("?", 1)[1].split("&"))
    return query["category"], int(query["seed"]), float(query["truncation"])


def pytorch_picture(generator, url: str) -> np.ndarray:
    slug, seed, truncation = recipe_of(url)
    return generator.sample([generator.categories.by_slug(slug).id], [seed], truncation)[0]


@pytest.mark.slow
@in_chromium
def test_permalink_draws_the_picture_pytorch_draws(page, static_server, builtin, tmp_path):
    import os

    page.goto(static_server + "?category=hamster&seed=42&truncation=0.6")
    pixels = drawn(page)
    expected = pytorch_picture(builtin, page.url)
    assert pixels.std() > 10  # not blank
    assert np.abs(pixels.astype(int) - expected).mean() <= 2, "mean abs diff over 2 levels"
    assert page.url.endswith("?category=hamster&seed=42&truncation=0.6000")  # canonical
    assert page.title() == "This Hamster Does Not Exist — drawn right now in your browser"
    assert float(page.locator("#picture").get_attribute("data-ms")) > 0
    assert page.failures == []
    shot = Path(os.environ.get("GANPAGE_LIVE_SCREENSHOT", tmp_path / "live-page.png"))
    page.screenshot(path=str(shot), type="png", clip={"x": 0, "y": 0, "width": 900, "height": 820})
    assert shot.stat().st_size > 10_000


def backend_options(page) -> dict[str, str]:
    """The "Run on" choices: value -> label, with " [off]" for a disabled one."""
    return page.evaluate("""() => Object.fromEntries(Array.from(
        document.querySelectorAll('#backend option'),
        (o) => [o.value, o.textContent + (o.disabled ? ' [off]' : '')]))""")


@pytest.mark.slow
@in_chromium
def test_without_webgpu_the_page_runs_webassembly_all_from_its_own_site(page, static_server):
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(static_server + "?category=hamster&seed=42")
    drawn(page)
    assert page.locator("#picture").get_attribute("data-backend") == "wasm"
    assert backend_options(page)["webgpu"] == "WebGPU (not in this browser) [off]"
    assert any(url.endswith("/ort-wasm-simd-threaded.wasm") for url in fetched)
    assert not [url for url in fetched if "ort.webgpu" in url or "asyncify" in url]
    origin = "/".join(static_server.split("/")[:3]) + "/"
    assert [url for url in fetched if not url.startswith(origin)] == []  # no CDN, nothing remote


@pytest.fixture(scope="module")
def webgpu_browser(playwright):
    """Chromium with WebGPU on: here, without a GPU, its adapter is SwiftShader's (software)."""
    args = [arg for arg in CHROMIUM_ARGS if arg != "--disable-gpu"] + ["--enable-unsafe-webgpu"]
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    yield chromium
    chromium.close()


@pytest.fixture
def webgpu_page(webgpu_browser, static_server):
    context = webgpu_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(180_000)  # SwiftShader draws in seconds, not milliseconds
    page.failures = []
    page.on("response", lambda r: r.status >= 400 and page.failures.append(f"{r.status} {r.url}"))
    page.on("pageerror", lambda error: page.failures.append(str(error)))
    page.goto(static_server.replace(PAGE, "live/live.json"))  # WebGPU needs a secure context
    if not page.evaluate(HAS_ADAPTER):
        pytest.skip("this Chromium offers no WebGPU adapter, not even SwiftShader")
    yield page
    context.close()


HAS_ADAPTER = "async () => Boolean(navigator.gpu && await navigator.gpu.requestAdapter())"
# What a GPU's adapter says of itself: SwiftShader's, told to say it is no fallback adapter.
HARDWARE_ADAPTER = """(() => {
  const request = GPU.prototype.requestAdapter;
  GPU.prototype.requestAdapter = async function (options) {
    const adapter = await request.call(this, options);
    if (adapter) {
      Object.defineProperty(adapter, "isFallbackAdapter", { get: () => false });
      Object.defineProperty(adapter.info, "isFallbackAdapter", { get: () => false });
    }
    return adapter;
  };
})();"""


@pytest.mark.slow
@in_chromium
def test_a_software_gpu_is_offered_but_webassembly_is_chosen(webgpu_page, static_server):
    page = webgpu_page
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(static_server + "?category=doughnut&seed=5")
    drawn(page)
    assert page.locator("#picture").get_attribute("data-backend") == "wasm"
    assert backend_options(page)["webgpu"] == "WebGPU (software)"
    assert not [url for url in fetched if "asyncify" in url]
    assert page.failures == []


@pytest.mark.slow
@in_chromium
def test_a_site_without_the_webgpu_build_runs_webassembly_on_a_gpu(webgpu_page, live_site,
                                                                    static_server):
    """`build-site --no-webgpu`: a browser with a GPU is not sent for a runtime not there."""
    folder = live_site / "no-webgpu"
    if not (folder / PAGE).exists():
        write_live_page(DEFAULT_MODEL, folder, runtimes=("wasm",))
    page = webgpu_page
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.add_init_script(HARDWARE_ADAPTER)
    page.goto(static_server.replace("/mysite/", "/no-webgpu/") + "?category=doughnut&seed=5")
    drawn(page)
    assert page.locator("#picture").get_attribute("data-backend") == "wasm"
    assert backend_options(page)["webgpu"] == "WebGPU (not on this site) [off]"
    assert not [url for url in fetched if "ort.webgpu" in url or "asyncify" in url]
    assert page.failures == []


@pytest.mark.slow
@in_chromium
def test_webgpu_draws_the_picture_pytorch_draws_and_the_choice_is_kept(webgpu_page,
                                                                       static_server, builtin):
    """On a GPU's adapter "auto" runs WebGPU; its picture is PyTorch's, as WebAssembly's is;
    the visitor's choice of runtime outlasts a reload."""
    page = webgpu_page
    page.add_init_script(HARDWARE_ADAPTER)
    page.goto(static_server + "?category=hamster&seed=42&truncation=0.6")
    on_gpu = drawn(page)
    expected = pytorch_picture(builtin, page.url)
    assert page.locator("#picture").get_attribute("data-backend") == "webgpu"
    assert "(WebGPU, WebAssembly, 1 thread for the rest;" in page.locator("#status").text_content()
    assert on_gpu.std() > 10 and np.abs(on_gpu.astype(int) - expected).mean() <= 2
    page.select_option("#backend", "wasm")
    page.wait_for_function("() => document.getElementById('picture').dataset.backend === 'wasm'"
                           " && document.getElementById('picture').dataset.state === 'done'")
    assert np.abs(drawn(page).astype(int) - expected).mean() <= 2
    page.reload()
    drawn(page)
    assert page.locator("#picture").get_attribute("data-backend") == "wasm"
    assert page.locator("#backend").input_value() == "wasm"
    assert page.failures == []


@pytest.mark.slow
@in_chromium
def test_seeds_differ_and_a_permalink_redraws_its_picture(page, static_server, builtin):
    page.goto(static_server)
    first, first_url = drawn(page), page.url
    page.click("#another")
    second = drawn(page, first_url)
    assert recipe_of(page.url)[1] != recipe_of(first_url)[1]
    assert np.abs(second.astype(int) - first).mean() > 5
    page.goto(first_url)
    assert np.array_equal(drawn(page), first)
    assert np.abs(first.astype(int) - pytorch_picture(builtin, first_url)).mean() <= 2
    assert page.failures == []


@pytest.mark.slow
@in_chromium
def test_chosen_category_and_morph(page, static_server, builtin):
    page.goto(static_server + "?category=doughnut&seed=1")
    drawn(page)
    page.select_option("#category", "hamster")
    doughnut_url = page.url
    page.click("#another")
    drawn(page, doughnut_url)
    hamster_url = page.url
    assert recipe_of(hamster_url)[0] == "hamster"
    page.click("#morph")
    page.wait_for_function("() => document.getElementById('picture').dataset.state === 'morphing'")
    after = drawn(page, hamster_url)
    slug, seed, _ = recipe_of(page.url)
    assert slug == "hamster" and seed != recipe_of(hamster_url)[1]
    assert np.abs(after.astype(int) - pytorch_picture(builtin, page.url)).mean() <= 2


@pytest.mark.slow
@in_chromium
@pytest.mark.parametrize("query", ["category=no-such-thing&seed=1", "category=hamster&seed=-1",
                                   "category=hamster&seed=1&truncation=1.5",
                                   "category=hamster&seed=1&seed=2"])
def test_a_bad_permalink_shows_an_error_not_a_picture(page, static_server, query):
    page.goto(f"{static_server}?{query}")
    page.wait_for_function("() => document.getElementById('picture').dataset.state === 'error'")
    message = page.locator("#problem").text_content()
    expected = python_verdict(query)[1]
    assert message == f"This address names no picture: {expected}."
    assert page.locator("#picture").is_hidden() and page.locator("#problem").is_visible()


@pytest.mark.slow
@in_chromium
def test_after_a_bad_permalink_the_buttons_draw(page, static_server, builtin):
    """A wrong slug says so, then the page still works (its buttons stayed disabled): Draw
    another draws the chosen category, the error goes, and Morph has a picture to start from."""
    page.goto(f"{static_server}?category=no-such-thing&seed=1")
    page.wait_for_function("() => document.getElementById('picture').dataset.state === 'error'")
    page.wait_for_function("() => !document.getElementById('another').disabled")
    assert page.locator("#morph").is_disabled()  # nothing on the canvas to morph from
    assert page.locator("#problem").is_visible()
    page.select_option("#category", "hamster")
    wrong_url = page.url
    page.click("#another")
    pixels = drawn(page, wrong_url)
    assert recipe_of(page.url)[0] == "hamster"
    assert page.locator("#picture").is_visible() and page.locator("#problem").is_hidden()
    assert np.abs(pixels.astype(int) - pytorch_picture(builtin, page.url)).mean() <= 2
    assert page.locator("#morph").is_enabled() and page.locator("#backend").is_enabled()
    assert page.failures == []


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """`ganpage serve --live` of a tiny model (no gallery) as a real server process, with an
    empty ONNX cache of its own: (base URL, cache folder, the model folder). Tiny, so that its
    load and its background export take seconds, not emoji64's tens of seconds."""
    import os

    from helpers.models import make_tiny_model
    from helpers.servers import free_port, wait_for_http

    port = free_port()
    root = tmp_path_factory.mktemp("server")
    model = make_tiny_model(root / "model")
    process = subprocess.Popen([sys.executable, "-m", "ganpage", "serve", "--live", str(model),
                                "--port", str(port)],
                               env={**os.environ, "GANPAGE_CACHE": str(root / "cache")},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/healthz", process, timeout=120)  # it checks the model first
        yield base, root / "cache", model
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its background export
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
@in_chromium
def test_serve_live_draws_with_threads_under_its_headers(page, live_server):
    """The server exports the ONNX in the background before anyone asks; its own CSP header
    lets WebAssembly compile; COOP/COEP give it threads."""
    from ganpage.models import load_generator
    from helpers.servers import wait_until

    base, cache, model = live_server
    wait_until(lambda: list(cache.glob("onnx/*/manifest.json")), 180,
               "no ONNX export in the server's cache")
    # half the cores: 4 threads on an 8-core machine (this one has 2, which would get 1)
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', "
                         "{ get: () => 8 })")
    page.goto(base + "/live?category=hamster&seed=42&truncation=0.6")
    pixels = drawn(page)
    generator = load_generator(model, dtype="float32")
    assert pixels.std() > 5  # not blank
    assert np.abs(pixels.astype(int) - pytorch_picture(generator, page.url)).mean() <= 2
    assert page.evaluate("crossOriginIsolated") and "4 threads;" in page.locator(
        "#status").text_content()
    assert page.failures == []


@pytest.mark.slow
@in_chromium
@pytest.mark.parametrize("truncation", ["0.555", "0.7", "1"])
def test_biggan_takes_its_truncation_in_the_browser(page, live_site, static_server, truncation,
                                                   tiny_biggan_model):
    """BigGAN-deep's float64 truncation input runs in onnxruntime-web as in PyTorch (the
    session's tiny BigGAN-deep: its ONNX export is made once, see conftest)."""
    from ganpage.models import load_generator

    folder = live_site / "biggan"
    if not (folder / PAGE).exists():
        write_live_page(tiny_biggan_model, folder)
    page.goto(static_server.replace("/mysite/", "/biggan/") +
              f"?category=ferret&seed=3&truncation={truncation}")
    pixels = drawn(page)
    generator = load_generator(tiny_biggan_model, dtype="float32")
    assert np.abs(pixels.astype(int) - pytorch_picture(generator, page.url)).mean() <= 2
    assert pixels.std() > 5 and page.failures == []


@pytest.mark.slow
@in_chromium
def test_a_style_model_draws_each_seeds_style_in_the_browser(page, live_site, static_server):
    """A model with a style label: live.js feeds the style noise.js draws from the seed, so the
    browser's pictures are PyTorch's for seeds of different styles."""
    from ganpage.models import load_generator
    from ganpage.noise import style_ids
    from helpers.models import make_tiny_model

    folder = live_site / "styled"
    if not (folder / PAGE).exists():
        write_live_page(make_tiny_model(live_site / "styled-model", num_styles=5), folder)
    generator = load_generator(live_site / "styled-model", dtype="float32")
    seeds = [1, 2, 3, 4]
    assert len(set(style_ids(seeds, generator.z_dim, 5).tolist())) > 1
    previous = ""
    for seed in seeds:
        page.goto(static_server.replace("/mysite/", "/styled/") +
                  f"?category=bagel&seed={seed}&truncation=0.8")
        pixels = drawn(page, previous)
        previous = page.url
        assert np.abs(pixels.astype(int) - pytorch_picture(generator, page.url)).mean() <= 2
    assert page.failures == []
