#!/usr/bin/env bash
# Install Spotter into .venv (Linux/macOS). Usage:
#   ./install.sh [--weights DIR_OR_URL] [--cpu] [--cluster]
#     --weights  folder holding the model files (or a base URL serving them); see README "Model weights"
#     --cpu      install the CPU build of ONNX Runtime even where an NVIDIA GPU is present
#     --cluster  add the extras of requirements-cluster.txt (a library shared on PostgreSQL, indexing on Ray)
# Environment: PYTHON (default python3, 3.10+), PIP_ARGS (extra pip options, e.g. a cache dir).
set -euo pipefail
cd "$(dirname "$0")"

weights=""
force_cpu=0
cluster=0
while [ $# -gt 0 ]; do
  case "$1" in
    --weights) weights="${2:?--weights needs a folder or URL}"; shift 2 ;;
    --cpu) force_cpu=1; shift ;;
    --cluster) cluster=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

python="${PYTHON:-python3}"
"$python" -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ needed"' || exit 1
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip)
"${pip[@]}" install ${PIP_ARGS:-} --upgrade pip >/dev/null

if [ "$force_cpu" = 0 ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  ort="onnxruntime-gpu[cuda,cudnn]"  # CUDA and cuDNN libraries from pip: no system CUDA needed
  echo "NVIDIA GPU found: installing onnxruntime-gpu"
else
  ort=onnxruntime
  echo "no NVIDIA GPU found: installing onnxruntime (CPU)"
fi
# Both builds provide the same module: never leave the other one installed beside the chosen one.
other=$([ "$ort" = onnxruntime ] && echo onnxruntime-gpu || echo onnxruntime)
"${pip[@]}" uninstall -y "$other" >/dev/null 2>&1 || true
"${pip[@]}" install ${PIP_ARGS:-} -r requirements.txt "$ort"
if [ "$cluster" = 1 ]; then
  "${pip[@]}" install ${PIP_ARGS:-} -r requirements-cluster.txt
fi

if [ -n "$weights" ]; then
  .venv/bin/python main.py install-weights "$weights"
elif [ -z "${SPOTTER_MODELS:-}" ]; then
  echo "note: no --weights given and SPOTTER_MODELS is unset; see README 'Model weights'"
fi
.venv/bin/python main.py doctor || true
echo "Spotter is installed. Run: .venv/bin/python main.py"
