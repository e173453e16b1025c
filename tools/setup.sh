#!/usr/bin/env bash
# tools/setup.sh: everything a fresh Debian 12 (bookworm) machine needs, then both builds.
#   1. Debian packages (apt; via sudo when not root), only those missing;
#   2. Dear ImGui 1.86 sources from Debian's source package into third_party/imgui;
#   3. npm packages pinned by package-lock.json (npm ci), only when the lock file changed;
#   4. the native build (build/, CLI at build/bin/coronanet) and the WebAssembly build
#      (build/wasm, web app in build/web).
# Idempotent: on a ready machine it only rebuilds what changed (seconds).
# Options: --no-install (skip steps 1-3), --no-build (skip step 4), --jobs N.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

INSTALL=1 BUILD=1 JOBS=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case $1 in
    --no-install) INSTALL=0 ;;
    --no-build) BUILD=0 ;;
    --jobs) JOBS=$2; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

# Debian packages. Test oracles (nibabel, scikit-learn) and the fuzzing toolchain (clang +
# libclang-rt) are here too: tools/test.sh needs them on every machine.
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates xz-utils dpkg-dev
  clang libclang-rt-14-dev googletest
  zlib1g-dev libstb-dev nlohmann-json3-dev libcpp-httplib-dev
  libtorch-dev libopenblas0-openmp libssl-dev libonnx-dev libprotobuf-dev protobuf-compiler
  emscripten chromium
  python3 python3-numpy python3-nibabel python3-sklearn
)

as_root() {  # run a command as root: directly, or through sudo (keeping apt non-interactive)
  if [ "$(id -u)" = 0 ]; then
    env DEBIAN_FRONTEND=noninteractive "$@"
  elif command -v sudo >/dev/null; then
    sudo env DEBIAN_FRONTEND=noninteractive "$@"
  else
    die "need root for: $* (install sudo or run as root)"
  fi
}

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done
}

install_debian_packages() {
  step "Debian packages"
  local wanted=("${APT_PACKAGES[@]}")
  # Node.js: keep whatever node/npm the machine has (Debian's 18 or another vendor's); Debian's
  # npm package would conflict with a vendor's nodejs that bundles npm.
  command -v node >/dev/null || wanted+=(nodejs)
  command -v npm >/dev/null || wanted+=(npm)
  local missing
  mapfile -t missing < <(missing_packages "${wanted[@]}")
  if [ ${#missing[@]} -eq 0 ]; then
    echo "all ${#wanted[@]} packages present"
    return
  fi
  echo "installing: ${missing[*]}"
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# deb-src for bookworm main, taken from the machine's own bookworm mirror, so `apt-get source`
# works on machines whose sources list has only binary entries.
ensure_deb_src() {
  if apt-get source --print-uris imgui >/dev/null 2>&1; then return; fi
  local uri
  uri=$(grep -rhoE '^(deb|URIs:)\s+\S+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    awk '{print $2}' | grep -m1 -E '/debian/?$' || true)
  uri=${uri:-http://deb.debian.org/debian}
  echo "adding a deb-src entry for $uri bookworm main"
  printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" | as_root tee /etc/apt/sources.list.d/corona-net-deb-src.sources >/dev/null
  as_root apt-get update -q
}

IMGUI_DIR=$ROOT/third_party/imgui
IMGUI_VERSION=1.86
fetch_imgui_sources() {
  step "Dear ImGui $IMGUI_VERSION sources (Debian source package imgui)"
  if [ -f "$IMGUI_DIR/imgui.h" ] && grep -q "IMGUI_VERSION *\"$IMGUI_VERSION\"" "$IMGUI_DIR/imgui.h"; then
    echo "present in third_party/imgui"
    return
  fi
  ensure_deb_src
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get source -q imgui 2>&1 | grep -v '^W: Download is performed unsandboxed') ||
    die "apt-get source imgui failed"
  local src
  src=$(find "$tmp" -maxdepth 1 -type d -name "imgui-$IMGUI_VERSION*" | head -n1)
  [ -n "$src" ] && [ -f "$src/imgui.h" ] || die "imgui $IMGUI_VERSION sources not found in Debian's source package"
  rm -rf "$IMGUI_DIR"
  mkdir -p "$ROOT/third_party"
  mv "$src" "$IMGUI_DIR"
  rm -rf "$tmp"
  echo "unpacked into third_party/imgui"
}

install_npm_packages() {
  step "npm packages (package-lock.json)"
  command -v npm >/dev/null || die "npm not found"
  local stamp=node_modules/.corona-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "node_modules matches package-lock.json"
    return
  fi
  # onnxruntime-node's install script tries to download CUDA libraries (npm 9 runs it, npm 11
  # skips it): nothing may download here, and the CPU binding ships inside the package.
  ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
    npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$want" >"$stamp"
}

build_native() {
  step "native build (build/)"
  cmake --preset native >/dev/null
  cmake --build --preset native -j "$JOBS"
}

build_wasm() {
  step "WebAssembly build (build/wasm, web app in build/web)"
  # Emscripten 3.1.6's linker needs Debian's acorn & co. (node modules under /usr/share/nodejs).
  export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
  cmake --preset wasm -DCORONA_IMGUI_DIR="$IMGUI_DIR" >/dev/null
  cmake --build --preset wasm -j "$JOBS"
}

if [ "$INSTALL" = 1 ]; then
  install_debian_packages
  fetch_imgui_sources
  install_npm_packages
fi
if [ "$BUILD" = 1 ]; then
  build_native
  build_wasm
  step "done: build/bin/coronanet and build/web are ready; run tools/test.sh for the tests"
fi
