#!/usr/bin/env bash
# The GPU run (scripts/gpu_run.py) on a machine where ganpage is not installed and nothing can
# be downloaded: the wheels in .whl/ (what that machine lacks; .whl/README.txt) go into a
# private folder, src/ goes on the path, and the data set comes from .gpu/ (see gpu_run.py).
#   bash scripts/gpu_run.sh --out "$OUT"                 # the real run, ~9 minutes
#   bash scripts/gpu_run.sh --smoke --out /tmp/smoke     # the rehearsal on a CPU, < 1 minute
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if [ -z "${GPU_RUN_NO_WHEELS:-}" ] && compgen -G ".whl/*.whl" >/dev/null; then
  site="${TMPDIR:-/tmp}/ganpage-gpu-site"
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" .whl/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec "$python" scripts/gpu_run.py "$@"
