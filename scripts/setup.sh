#!/usr/bin/env bash
# Installs everything the toolkit needs on a fresh Debian 12 / Python 3.11 machine (run as root):
# the speech engines and text sources for the embedded corpus, a virtual environment .venv at the
# repository root with requirements.txt, pyctcdecode, and the toolkit itself (the `vui` command).
# Safe to re-run: every step is skipped or is a no-op when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
# --gpu: CUDA builds (requirements-gpu.txt) in place of tensorflow-cpu; --cpu: the CPU ones even
# where nvidia-smi finds a GPU. Neither: the GPU build when nvidia-smi lists a GPU, else the CPU one.
GPU=""
for arg in "$@"; do
  case "$arg" in --gpu) GPU=1 ;; --cpu) GPU=0 ;; *) echo "usage: $0 [--gpu|--cpu]" >&2; exit 2 ;; esac
done
[ -n "$GPU" ] || { nvidia-smi -L >/dev/null 2>&1 && GPU=1 || GPU=0; }

APT_PACKAGES=(espeak-ng festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts flite
              sox libsndfile1 wordnet-base fortunes-min
              chromium fonts-dejavu-core)   # chromium: vui serve's browser tests (Playwright)

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip
echo "[setup] pip install -r requirements.txt (first run: several minutes)"
if [ "$GPU" = 1 ]; then   # tensorflow and tensorflow-cpu write the same files: one at a time
  echo "[setup] GPU: requirements-gpu.txt (CUDA 12 TensorFlow and JAX) in place of tensorflow-cpu"
  .venv/bin/pip uninstall -q -y tensorflow-cpu 2>/dev/null || true
  grep -v "^tensorflow-cpu" requirements.txt > .venv/requirements-no-tf-cpu.txt
  .venv/bin/pip install -q -r .venv/requirements-no-tf-cpu.txt -r requirements-gpu.txt
else
  .venv/bin/pip uninstall -q -y tensorflow jax-cuda12-plugin jax-cuda12-pjrt 2>/dev/null || true
  .venv/bin/pip install -q -r requirements.txt
fi
# pyctcdecode 0.5.0 declares numpy<2 but runs on numpy 2 (tests/test_decoding.py proves it);
# --no-deps keeps pip from downgrading the numpy that TensorFlow 2.21 needs.
.venv/bin/pip install -q --no-deps pyctcdecode==0.5.0
.venv/bin/pip install -q --no-deps --no-build-isolation -e .
[ "$GPU" = 0 ] || .venv/bin/python -c "import tensorflow as tf, jax
print('[setup] GPUs: TensorFlow', tf.config.list_physical_devices('GPU'), 'JAX', jax.devices())"
echo "[setup] done: $(.venv/bin/python -c 'import keras, numpy; print("keras", keras.__version__, "numpy", numpy.__version__)')"
