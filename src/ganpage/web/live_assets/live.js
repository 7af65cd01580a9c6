// The live page: the model's ONNX generator run by onnxruntime-web in the visitor's browser, on
// WebGPU where the browser has a GPU for it and in WebAssembly otherwise. The noise comes from
// noise.js and the permalink is read by recipe.js, so
// live.html?category=<slug>&seed=<n>&truncation=<t> draws the picture that
// load_generator(model).sample draws for the same recipe, on either runtime.
import { styleId, truncatedNoise } from "./noise.js";
import { DEFAULT_TRUNCATION, recipeFromQuery, recipeQuery } from "./recipe.js";

const ASSETS = new URL("./", import.meta.url);
const MORPH_FRAMES = 24;
const BACKEND_KEY = "ganpage.backend";  // the visitor's choice, kept in localStorage
const canvas = document.getElementById("picture");
const status = document.getElementById("status");
const problem = document.getElementById("problem");
const choice = document.getElementById("category");
const backendChoice = document.getElementById("backend");
const another = document.getElementById("another");
const morphButton = document.getElementById("morph");
const controls = [another, morphButton, backendChoice];  // off while a picture is drawn
const permalink = document.getElementById("permalink");
const CHOOSE = "Choose what to draw, then Draw another.";

// Two builds of onnxruntime-web 1.31.1, of which the page loads one (web/vendor/: the WebGPU
// build is twice the size, so nobody downloads it who will not use it).
// "basic" graph optimisation (constant folding and the like), not ort's default "all": its
// NCHWc layout rewrite costs ~100 ms of session creation and first-run WebAssembly compilation
// on the first visit, and the pictures after it are no faster (benchmarks/README.md)
const RUNTIMES = {
  wasm: { module: "ort/ort.wasm.min.mjs", name: "WebAssembly",
          options: { executionProviders: ["wasm"], graphOptimizationLevel: "basic" } },
  webgpu: { module: "ort/ort.webgpu.min.mjs", name: "WebGPU",
            options: { executionProviders: ["webgpu"], graphOptimizationLevel: "basic" } },
};

// A GPU adapter, or null. A fallback adapter (a software one such as SwiftShader) can be chosen
// by hand but is never the automatic choice: WebAssembly outruns it.
async function gpuAdapter() {
  try {
    return navigator.gpu ? await navigator.gpu.requestAdapter() : null;
  } catch {
    return null;
  }
}

function isSoftware(adapter) {
  return Boolean(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter);
}

// "auto" is WebGPU on a hardware adapter, WebAssembly otherwise; a choice of WebGPU that the
// browser cannot run (no adapter) falls back to WebAssembly.
function chosenBackend(wanted, adapter) {
  if (wanted === "wasm" || (wanted === "webgpu" && adapter)) return wanted;
  return adapter && !isSoftware(adapter) ? "webgpu" : "wasm";
}

function offerBackends(adapter, onSite, wanted) {
  const webgpu = backendChoice.querySelector('option[value="webgpu"]');
  webgpu.disabled = !adapter || !onSite;
  if (!onSite) webgpu.textContent += " (not on this site)";
  else if (!adapter) webgpu.textContent += " (not in this browser)";
  else if (isSoftware(adapter)) webgpu.textContent += " (software)";
  backendChoice.value = wanted;
}

function storedBackend() {
  try {
    return localStorage.getItem(BACKEND_KEY) ?? "auto";
  } catch {  // storage off: every visit starts on "auto"
    return "auto";
  }
}

function storeBackend(value) {
  try {
    localStorage.setItem(BACKEND_KEY, value);
  } catch { /* storage off */ }
}

// ort's default paths are its module's folder; threads need a cross-origin isolated page and
// get half the cores (ort's own default): on 2 cores one thread draws the first picture
// ~170 ms sooner than two, and the pictures after it no slower (benchmarks/README.md)
async function openRuntime(backend, modelUrl) {
  const runtime = RUNTIMES[backend];
  const ort = await import(new URL(runtime.module, ASSETS).href);
  ort.env.wasm.wasmPaths = new URL("ort/", ASSETS).href;
  ort.env.wasm.numThreads = self.crossOriginIsolated
    ? Math.min(4, Math.ceil((navigator.hardwareConcurrency || 1) / 2)) : 1;
  const session = await ort.InferenceSession.create(modelUrl, runtime.options);
  return { backend, ort, session };
}

function runtimeLabel(runtime) {
  const threads = runtime.ort.env.wasm.numThreads;
  const wasm = `WebAssembly, ${threads} thread${threads > 1 ? "s" : ""}`;
  return runtime.backend === "webgpu" ? `WebGPU, ${wasm} for the rest` : wasm;
}

let model = null;  // {info, bySlug, runtime: {backend, ort, session}}
let current = null;  // the recipe on the canvas

// to_uint8: round((clamp(x, -1, 1) + 1) * 127.5) in float32, halves to even as torch.round
function toByte(value) {
  const scaled = Math.fround(Math.fround(Math.min(1, Math.max(-1, value)) + 1) * 127.5);
  const floor = Math.floor(scaled);
  const rest = scaled - floor;
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

function paint(images, size) {  // images: (1, 3, S, S) float32, NCHW RGB
  const pixels = new ImageData(size, size);
  const plane = size * size;
  for (let i = 0; i < plane; i++) {
    pixels.data[4 * i] = toByte(images[i]);
    pixels.data[4 * i + 1] = toByte(images[plane + i]);
    pixels.data[4 * i + 2] = toByte(images[2 * plane + i]);
    pixels.data[4 * i + 3] = 255;
  }
  canvas.getContext("2d").putImageData(pixels, 0, 0);
}

async function run(noise, recipe) {
  const { ort, session } = model.runtime;
  const feeds = {
    noise: new ort.Tensor("float32", noise, [1, noise.length]),
    labels: new ort.Tensor("int64", BigInt64Array.of(BigInt(recipe.category.id)), [1]),
  };
  if (model.info.num_styles) {  // a style-labelled model: the seed draws the style
    const style = styleId(recipe.seed, model.info.z_dim, model.info.num_styles);
    feeds.styles = new ort.Tensor("int64", BigInt64Array.of(BigInt(style)), [1]);
  }
  if (model.info.truncation_input) {
    feeds.truncation = new ort.Tensor("float64", Float64Array.of(recipe.truncation), [1]);
  }
  const out = await session.run(feeds);
  return out.images.data;
}

function showRecipe(recipe, ms) {
  const query = recipeQuery(recipe);
  document.getElementById("title").textContent = recipe.category.title;
  document.title = `${recipe.category.title} — drawn right now in your browser`;
  permalink.href = `?${query}`;
  history.replaceState(null, "", `?${query}`);
  status.textContent = `drawn in ${ms.toFixed(0)} ms by ${model.info.model_id} in your browser ` +
    `(${runtimeLabel(model.runtime)}; seed ${recipe.seed}, truncation ${recipe.truncation})`;
}

async function draw(recipe) {
  canvas.dataset.state = "drawing";
  const start = performance.now();
  const images = await run(truncatedNoise(recipe.seed, model.info.z_dim, recipe.truncation),
                           recipe);
  paint(images, model.info.resolution);
  const ms = performance.now() - start;
  current = recipe;
  canvas.hidden = false;  // after an error (a bad address, a failed draw), a picture again
  problem.hidden = true;
  canvas.dataset.ms = ms.toFixed(1);
  canvas.dataset.backend = model.runtime.backend;
  canvas.dataset.sinceLoadMs ??= performance.now().toFixed(0);  // the first picture's time
  canvas.dataset.state = "done";
  showRecipe(recipe, ms);
}

// torch.lerp's two-sided formula, exact at both ends
function lerp(start, end, weight) {
  const out = new Float32Array(start.length);
  for (let i = 0; i < start.length; i++) {
    out[i] = weight < 0.5 ? start[i] + weight * (end[i] - start[i])
      : end[i] - (end[i] - start[i]) * (1 - weight);
  }
  return out;
}

async function morph(target) {  // from the picture shown to another seed of its category
  const { z_dim: zDim, resolution } = model.info;
  const from = truncatedNoise(current.seed, zDim, current.truncation);
  const to = truncatedNoise(target.seed, zDim, target.truncation);
  canvas.dataset.state = "morphing";
  for (let frame = 1; frame < MORPH_FRAMES; frame++) {
    paint(await run(lerp(from, to, frame / MORPH_FRAMES), target), resolution);
    await new Promise(requestAnimationFrame);
  }
  await draw(target);
}

function randomSeed() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function nextRecipe() {
  const classes = model.info.classes;
  const category = choice.value ? model.bySlug.get(choice.value)
    : classes[crypto.getRandomValues(new Uint32Array(1))[0] % classes.length];
  return { category, seed: randomSeed(), truncation: current?.truncation ?? DEFAULT_TRUNCATION };
}

async function switchBackend() {
  storeBackend(backendChoice.value);
  const backend = chosenBackend(backendChoice.value, model.adapter);
  if (backend === model.runtime.backend) return;
  const before = canvas.dataset.state;
  canvas.dataset.state = "loading";
  status.textContent = `Loading the ${RUNTIMES[backend].name} runtime…`;
  model.runtime = await openRuntime(backend, model.url);
  if (current) {
    await draw(current);
  } else {  // nothing drawn yet (the address named no picture)
    canvas.dataset.state = before;
    status.textContent = CHOOSE;
  }
}

function fail(message) {
  canvas.dataset.state = "error";
  canvas.hidden = true;
  problem.textContent = message;
  problem.hidden = false;
  status.textContent = "";
}

// The controls work whenever the model is loaded and nothing is being drawn; Morph needs a
// picture on the canvas to start from.
function enableControls() {
  controls.forEach((control) => { control.disabled = false; });
  morphButton.disabled = current === null;
}

async function busy(action) {
  controls.forEach((control) => { control.disabled = true; });
  try {
    await action();
  } catch (error) {
    fail(`Could not draw: ${error.message}`);
  } finally {
    enableControls();
  }
}

function fillChoices(classes) {
  for (const item of [...classes].sort((a, b) => a.name.localeCompare(b.name))) {
    choice.append(new Option(item.name, item.slug));
  }
}

async function start() {
  const url = new URL("model/generator.float32.onnx", ASSETS).href;
  const wanted = storedBackend();
  // the runtimes this site ships are in the page (build-site --no-webgpu leaves WebGPU out),
  // so the runtime starts loading as soon as the adapter is known, beside live.json
  const onSite = backendChoice.dataset.runtimes.split(" ").includes("webgpu");
  const info = fetch(new URL("live.json", ASSETS)).then((response) => response.json());
  const found = onSite ? await gpuAdapter() : null;
  const runtime = openRuntime(chosenBackend(wanted, found), url);
  const { classes } = await info;
  const bySlug = new Map(classes.map((item) => [item.slug, item]));
  let recipe = null;
  let wrongAddress = false;
  if (location.search) {
    try {
      recipe = recipeFromQuery(bySlug, location.search);
    } catch (error) {  // say so at once, then let the visitor draw something else
      fail(`This address names no picture: ${error.message}.`);
      wrongAddress = true;
    }
  }
  fillChoices(classes);
  offerBackends(found, onSite, wanted);
  model = { info: await info, bySlug, url, adapter: found, runtime: await runtime };
  another.addEventListener("click", () => busy(() => draw(nextRecipe())));
  morphButton.addEventListener("click", () => busy(() => morph(
    { category: current.category, seed: randomSeed(), truncation: current.truncation })));
  backendChoice.addEventListener("change", () => busy(switchBackend));
  if (wrongAddress) {
    status.textContent = CHOOSE;
    enableControls();
    return;
  }
  if (recipe) choice.value = recipe.category.slug;
  await busy(() => draw(recipe ?? nextRecipe()));
}

start().catch((error) => fail(`Could not load the model: ${error.message}`));
