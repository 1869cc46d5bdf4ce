#!/usr/bin/env bash
# Builds llama.cpp's llama-server — the real OpenAI-compatible server the serving-engine tests
# run against — from the exact llama.cpp source of node-llama-cpp's binaries (the git bundle
# node-llama-cpp ships), once, into a gitignored cache (and a copy in the user's cache, keyed by
# the source commit and the CPU, that another clone reuses). Prints how long the build took.
#
# Without cmake or a C++ compiler it says so and exits 0: the server tests then skip with a
# visible SKIP line. RELATION_LENS_LLAMA_SERVER_DIR overrides the cache folder,
# RELATION_LENS_BUILD_JOBS the parallel compile jobs (default: the cores).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUNDLE="$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle"
DIR="${RELATION_LENS_LLAMA_SERVER_DIR:-$ROOT/.cache/llama-server}"
BIN="$DIR/bin/llama-server"

if [ ! -f "$BUNDLE" ]; then
  echo "setup-llama-server: $BUNDLE not found (run npm ci first); the server tests will skip" >&2
  exit 0
fi
for tool in git cmake c++; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup-llama-server: '$tool' is not installed; the server tests will skip" >&2
    exit 0
  fi
done

# The bundle's commit identifies the source: rebuild only when node-llama-cpp's llama.cpp changed.
HEAD="$(git bundle list-heads "$BUNDLE" | head -n 1 | cut -d' ' -f1)"
# A build of the same source for this CPU (GGML_NATIVE) is kept in the user's cache too, for
# another clone (CI clones afresh every run) to reuse when it starts.
CPU="$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m) | sha256sum | cut -c1-12)"
SHARED="${XDG_CACHE_HOME:-$HOME/.cache}/relation-lens/llama-server/${HEAD:0:12}-$CPU"
keep() { mkdir -p "$SHARED" && cp "$BIN" "$SHARED/llama-server.tmp" && mv "$SHARED/llama-server.tmp" "$SHARED/llama-server" || true; }
if [ -x "$BIN" ] && [ "$(cat "$DIR/source-commit" 2>/dev/null)" = "$HEAD" ]; then
  [ -x "$SHARED/llama-server" ] || keep
  echo "llama-server ready: $BIN (llama.cpp ${HEAD:0:10})"
  exit 0
fi
if [ -x "$SHARED/llama-server" ] && "$SHARED/llama-server" --version >/dev/null 2>&1; then
  mkdir -p "$DIR/bin"
  cp "$SHARED/llama-server" "$BIN"
  echo "$HEAD" >"$DIR/source-commit"
  echo "llama-server ready: $BIN (llama.cpp ${HEAD:0:10}, the build in $SHARED)"
  exit 0
fi

start=$(date +%s)
rm -rf "$DIR/src" "$DIR/build" "$DIR/bin"
mkdir -p "$DIR/bin"
git -c advice.detachedHead=false clone --quiet "$BUNDLE" "$DIR/src"
echo "building llama-server from llama.cpp ${HEAD:0:10} (node-llama-cpp's source; a few minutes on 2 cores)" >&2
# No network during the build: no prebuilt web UI download, no TLS; CPU only, static.
cmake -S "$DIR/src" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DGGML_NATIVE=ON >"$DIR/cmake.log" 2>&1 ||
  { tail -n 30 "$DIR/cmake.log" >&2; echo "setup-llama-server: cmake configure failed (log: $DIR/cmake.log)" >&2; exit 1; }
cmake --build "$DIR/build" --target llama-server -j "${RELATION_LENS_BUILD_JOBS:-$(nproc)}" >"$DIR/build.log" 2>&1 ||
  { tail -n 30 "$DIR/build.log" >&2; echo "setup-llama-server: build failed (log: $DIR/build.log)" >&2; exit 1; }
cp "$DIR/build/bin/llama-server" "$BIN"
echo "$HEAD" >"$DIR/source-commit"
rm -rf "$DIR/src" "$DIR/build"
keep
echo "llama-server built in $(($(date +%s) - start)) s: $BIN (llama.cpp ${HEAD:0:10})"
