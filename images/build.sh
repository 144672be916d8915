#!/usr/bin/env bash
# Builds the local stand-in images that oep's examples and tests run on, from Debian's packages
# only (no container registry, no PyPI, no conda channel):
#
#   images/build.sh plain     oep-test/python:bookworm          Debian bookworm's python3 (debootstrap)
#   images/build.sh sklearn   oep-test/python-sklearn:bookworm  + numpy, scikit-learn 1.2, joblib
#   images/build.sh mlflow    oep-test/python-mlflow:bookworm   + pandas, cloudpickle, pyyaml, debugpy:
#                             the stand-in for Azure's inference base images (images/offline.yml)
#   images/build.sh azure     oep-test/python-azure:bookworm    plain + Debian's python3-azure
#                             (azure-identity, keyvault, storage, azure-ai-ml) and python3-requests
#   images/build.sh all       all four
#
# With network, the examples need none of these: they name Azure's public images and conda files.
# Offline, `oep config set image_map images/offline.yml` runs them on these stand-ins instead.
#
# `plain` is a minimal Debian root made by debootstrap (root, and debootstrap, installed here when
# missing) from the Debian mirror apt already uses (OEP_DEBIAN_MIRROR overrides it), imported into
# the engine; the others are apt-get layers on it, built by the engine. An image that exists is
# kept (quick when nothing is missing); the root tarball is cached in OEP_IMAGE_CACHE (default
# ~/.cache/oep-images) so that a rebuild after `docker rmi` skips debootstrap.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# flavour -> "tag|base flavour|Debian packages"
spec() {
  case "$1" in
    plain)   echo "oep-test/python:bookworm||python3" ;;
    sklearn) echo "oep-test/python-sklearn:bookworm|plain|python3-numpy python3-sklearn python3-joblib" ;;
    mlflow)  echo "oep-test/python-mlflow:bookworm|sklearn|python3-pandas python3-cloudpickle python3-yaml python3-debugpy" ;;
    azure)   echo "oep-test/python-azure:bookworm|plain|python3-azure python3-requests" ;;
    *) return 1 ;;
  esac
}

debian_mirror() {
  local mirror=${OEP_DEBIAN_MIRROR:-}
  [ -n "$mirror" ] || mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
  [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  [ -n "$mirror" ] || { echo "images/build.sh: no Debian mirror in apt's sources; set OEP_DEBIAN_MIRROR" >&2; return 1; }
  echo "$mirror"
}

build_root() {
  local tag=$1 packages=$2 cache=${OEP_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oep-images}
  local tarball="$cache/bookworm-python3.tar" root mirror
  mkdir -p "$cache"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    mirror=$(debian_mirror)
    root=$(mktemp -d "${TMPDIR:-/tmp}/oep-rootfs.XXXXXX")
    echo "images/build.sh: debootstrap bookworm with $packages from $mirror (1-2 minutes)" >&2
    if ! as_root debootstrap --variant=minbase --include="${packages// /,}" bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
      tail -20 "$cache/debootstrap.log" >&2; as_root rm -rf "$root"; return 1
    fi
    as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/locale
    as_root tar -C "$root" -cf "$tarball.tmp" .
    as_root chown "$(id -u):$(id -g)" "$tarball.tmp"
    mv "$tarball.tmp" "$tarball"
    as_root rm -rf "$root"
  fi
  docker import -c 'CMD ["python3"]' -c 'ENV PYTHONUNBUFFERED=1' "$tarball" "$tag" >/dev/null
}

build_layer() {
  local tag=$1 base=$2 packages=$3 context
  context=$(mktemp -d "${TMPDIR:-/tmp}/oep-image.XXXXXX")
  printf 'FROM %s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends %s >/dev/null && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man\n' "$base" "$packages" >"$context/Dockerfile"
  echo "images/build.sh: building $tag on $base (+ $packages; 1-2 minutes)" >&2
  if ! docker build -q -t "$tag" "$context" >/dev/null; then
    rm -rf "$context"; echo "images/build.sh: building $tag failed" >&2; return 1
  fi
  rm -rf "$context"
}

# Prints the flavour's tag once the image exists, building it (and its base) when missing.
ensure() {
  local line tag base packages base_tag
  line=$(spec "$1") || { echo "usage: images/build.sh [plain|sklearn|mlflow|azure|all] ..." >&2; return 2; }
  IFS='|' read -r tag base packages <<<"$line"
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    if [ -z "$base" ]; then
      build_root "$tag" "$packages"
    else
      base_tag=$(ensure "$base")
      build_layer "$tag" "$base_tag" "$packages"
    fi
  fi
  echo "$tag"
}

[ $# -gt 0 ] || set -- plain
for flavour in "$@"; do
  if [ "$flavour" = all ]; then
    for each in plain sklearn mlflow azure; do ensure "$each"; done
  else
    ensure "$flavour"
  fi
done
