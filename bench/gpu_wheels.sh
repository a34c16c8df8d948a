#!/usr/bin/env bash
# Downloads, here (with network), the wheels that the GPU machine lacks or has too old, into
# .whl/ (git-ignored), for `bench/gpu_check.sh` to install there with no network.
#
# The GPU machine (docs/gpu.md) has Python 3.12 with torch 2.11 + CUDA, transformers 5.17,
# accelerate 1.15, safetensors 0.8, tokenizers 0.23, huggingface_hub 1.33 and an older peft, and
# no pydantic; the project needs transformers >= 5.24 and peft 0.21.x (pyproject.toml), pydantic
# (the job config), and bitsandbytes for 4/8-bit loading. Only those travel; everything else is
# the machine's own. The device tool
# sends at most 64 MiB with the working tree, so the total is checked and printed.
#
#     bash bench/gpu_wheels.sh            # transformers + peft + bitsandbytes (if they fit)
#     GPU_WHEELS_NO_BNB=1 bash bench/gpu_wheels.sh   # without bitsandbytes
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LIMIT_MIB=${GPU_WHEELS_LIMIT_MIB:-64}  # what the device tool carries: wheels + working tree

# The versions the CPU venv runs the suite with (the tested ones), else pyproject's floor.
version_of() {
  .venv/bin/python -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || echo "$2"
}
# transformers: the pyproject floor, not the venv's newer one: 5.25 wants huggingface_hub >= 2.4
# (and through it httpx2), which the machine lacks; 5.24 accepts its hub 1.33.
TRANSFORMERS=${GPU_WHEELS_TRANSFORMERS:-5.24.0}
PEFT=$(version_of peft 0.21.2)
BNB=${GPU_WHEELS_BNB_VERSION:-}

grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> "$(git rev-parse --git-path info/exclude)"
rm -rf .whl && mkdir -p .whl

# Bytes the device tool sends: tracked and untracked-not-ignored files, plus the wheels.
travelling_bytes() {
  { git ls-files -z -co --exclude-standard | xargs -0 cat 2>/dev/null; cat .whl/*.whl; } | wc -c
}

download() {
  "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any \
    -d .whl "$@"
}

PYDANTIC=$(version_of pydantic 2.14.0)
PYDANTIC_CORE=$(version_of pydantic_core "")
download "transformers==$TRANSFORMERS" "peft==$PEFT" "pydantic==$PYDANTIC" \
  "pydantic-core${PYDANTIC_CORE:+==$PYDANTIC_CORE}" annotated-types typing-inspection \
  "regex==$(version_of regex 2026.11.19)"  # transformers checks regex >= 2025.10.22 at import
if [ -z "${GPU_WHEELS_NO_BNB:-}" ]; then
  download "bitsandbytes${BNB:+==$BNB}"
  bnb=$(ls .whl/bitsandbytes-*.whl)
  if [ "$(travelling_bytes)" -gt $(( LIMIT_MIB * 1024 * 1024 - 1024 * 1024 )) ]; then
    echo "bitsandbytes ($(stat -c %s "$bnb") bytes) takes what travels over $LIMIT_MIB MiB" \
      "(less 1 MiB of margin): left out; gpu_check.sh then skips the 4/8-bit tests" >&2
    rm -f "$bnb"
  fi
fi
echo "wheels in .whl/:"
ls -l .whl
wheels=$(cat .whl/*.whl | wc -c)
echo "wheels: $wheels bytes ($(( wheels / 1024 / 1024 )) MiB); with the working tree:" \
  "$(travelling_bytes) bytes of the $LIMIT_MIB MiB the device tool carries"
