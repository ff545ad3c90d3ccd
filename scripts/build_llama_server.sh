#!/usr/bin/env bash
# Build llama.cpp's llama-server (CPU only, no BLAS, no OpenMP, no TLS, no web UI download)
# from the llama.cpp sources that ship inside the llama-cpp-python sdist on PyPI, into
# $VENV/llama.cpp/bin/llama-server. The remote-engine tests serve a GGUF of the bundled model
# with it (tests/test_remote_server.py). About 10 minutes on 2 busy cores; run once.
#   scripts/build_llama_server.sh [VENV]
set -euo pipefail
VENV=${1:-.venv}
VERSION=0.3.36
DEST="$VENV/llama.cpp/bin/llama-server"
if [[ -x "$DEST" ]]; then
    exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$VENV/bin/pip" download --disable-pip-version-check -q --no-deps --no-binary :all: \
    "llama-cpp-python==$VERSION" -d "$WORK" 2>&1 | grep -v "^WARNING: Location" || true
tar xzf "$WORK/llama_cpp_python-$VERSION.tar.gz" -C "$WORK"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
GENERATOR=()
if command -v ninja >/dev/null; then GENERATOR=(-G Ninja); fi
if ! command -v cmake >/dev/null; then
    "$VENV/bin/pip" install --disable-pip-version-check -q cmake
    export PATH="$PWD/$VENV/bin:$PATH"
fi
cmake -S "$SRC" -B "$WORK/build" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DGGML_BLAS=OFF -DGGML_CCACHE=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >"$WORK/cmake.log" || { cat "$WORK/cmake.log"; exit 1; }
cmake --build "$WORK/build" --target llama-server -j "$(nproc)"
install -D -m 755 "$WORK/build/bin/llama-server" "$DEST"
"$DEST" --version 2>&1 | head -2
