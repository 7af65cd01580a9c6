#!/usr/bin/env bash
# Reproduce src/ganpage/web/vendor/onnxruntime-web/ from npm's onnxruntime-web at a pinned
# version (the tarball checked against npm's published sha512 integrity), then check the files
# against SHA256SUMS (written on the first run, when there is none).
#
# Only what the live page loads, two runtimes of which a visitor's browser fetches one:
# - WebAssembly: ort.wasm.min.mjs (the API), the Emscripten glue ort-wasm-simd-threaded.mjs and
#   its .wasm (14.8 MB, 3.8 MB gzip);
# - WebGPU: ort.webgpu.min.mjs, what npm's "onnxruntime-web/webgpu" export loads, with its
#   asyncify build of the glue and .wasm (28.7 MB, 7.1 MB gzip), which every browser with WebGPU
#   runs. Left out: the jspi build (17.9 MB; Firefox and Safari have no JSPI), the jsep build
#   of ort.min.mjs (29.5 MB, the older WebGPU backend), WebGL and WebNN.
#
#   scripts/vendor_onnxruntime_web.sh            # fetch, copy, check
#   scripts/vendor_onnxruntime_web.sh --check    # only check what is there (offline)
set -euo pipefail

VERSION=1.31.1
INTEGRITY="sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
FILES=(ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm
       ort.webgpu.min.mjs ort-wasm-simd-threaded.asyncify.mjs ort-wasm-simd-threaded.asyncify.wasm)
TARGET="$(cd "$(dirname "$0")/.." && pwd)/src/ganpage/web/vendor/onnxruntime-web"

check() {
    (cd "$TARGET" && sha256sum --check --strict --quiet SHA256SUMS) \
        && echo "onnxruntime-web $VERSION: $(wc -l < "$TARGET/SHA256SUMS") files match SHA256SUMS"
}

if [[ "${1:-}" == "--check" ]]; then
    check
    exit
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "onnxruntime-web@$VERSION" > /dev/null)
tarball="$work/onnxruntime-web-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$got" != "$INTEGRITY" ]]; then
    echo "onnxruntime-web-$VERSION.tgz: integrity $got is not npm's $INTEGRITY" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p "$TARGET"
for file in "${FILES[@]}"; do
    cp "$work/package/dist/$file" "$TARGET/$file"
done
# The npm package ships no LICENSE file; its package.json says MIT and every bundle's header
# "Copyright (c) Microsoft Corporation. All rights reserved. Licensed under the MIT License."
grep -q '"license": "MIT"' "$work/package/package.json"
cat > "$TARGET/LICENSE" <<'LICENSE'
onnxruntime-web (https://www.npmjs.com/package/onnxruntime-web), vendored unchanged by
scripts/vendor_onnxruntime_web.sh; see VERSION for the release.

MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENSE
printf 'onnxruntime-web %s\nnpm integrity %s\n' "$VERSION" "$INTEGRITY" > "$TARGET/VERSION"
if [[ ! -f "$TARGET/SHA256SUMS" ]]; then
    (cd "$TARGET" && sha256sum "${FILES[@]}" LICENSE VERSION > SHA256SUMS)
    echo "wrote $TARGET/SHA256SUMS"
fi
check
