// ganpage latent noise, bit-compatible with ganpage/noise.py (see its docstring for the spec).
// truncatedNoise(seed, zDim, truncation) -> Float32Array of zDim values in [-2, 2] * truncation.
// styleId(seed, zDim, numStyles) -> the style a seed draws, for models with a style label.

export function mulberry32(seed) {
  let state = seed >>> 0;
  return function uniform() {
    state = (state + 0x6D2B79F5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= (t + Math.imul(t ^ (t >>> 7), t | 61)) >>> 0;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normal(uniform) {
  const u1 = uniform();
  const u2 = uniform();
  return Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
}

function drawLatent(uniform, zDim, truncation) {
  const z = new Float32Array(zDim);
  for (let i = 0; i < zDim; i++) {
    let value = normal(uniform);
    while (Math.abs(value) > 2) value = normal(uniform);
    z[i] = value * truncation;
  }
  return z;
}

export function truncatedNoise(seed, zDim, truncation = 1.0) {
  return drawLatent(mulberry32(seed), zDim, truncation);
}

export function styleId(seed, zDim, numStyles) {
  const uniform = mulberry32(seed);
  drawLatent(uniform, zDim, 1.0);
  return Math.floor(uniform() * numStyles);
}
