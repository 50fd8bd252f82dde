#!/usr/bin/env bash
# Builds the lookout image from the Containerfile with whichever of docker, podman or buildah is
# present, tags it lookout:<version> (the version from CMakeLists.txt) and, with --registry,
# REGISTRY/lookout:<version> too; --push pushes that tag.
#
#   scripts/build-image.sh [--registry REGISTRY] [--push] [--builder docker|podman|buildah]
#
# Where the public Debian base image cannot be pulled (an air-gapped builder, this project's CI),
# the script makes it locally from Debian's packages with mmdebstrap (--variant=minbase) and tags
# it under the same name, so the Containerfile builds unchanged. buildah runs daemon-less as root
# (BUILDAH_ISOLATION=chroot and STORAGE_DRIVER=vfs where no overlay or user namespaces exist).
set -euo pipefail
cd "$(dirname "$0")/.."

registry="" push=0 builder=""
while [ $# -gt 0 ]; do
  case $1 in
    --registry) registry=${2:?--registry needs a value}; shift 2 ;;
    --registry=*) registry=${1#*=}; shift ;;
    --push) push=1; shift ;;
    --builder) builder=${2:?--builder needs a value}; shift 2 ;;
    --builder=*) builder=${1#*=}; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$push" -eq 0 ] || [ -n "$registry" ] || {
  echo "build-image.sh: --push needs --registry (where to push)" >&2; exit 2; }

if [ -z "$builder" ]; then
  for b in docker podman buildah; do
    # docker is only usable with a running engine; its client alone cannot build.
    if [ "$b" = docker ]; then
      command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && { builder=docker; break; }
    elif command -v "$b" >/dev/null 2>&1; then
      builder=$b; break
    fi
  done
fi
if [ -z "$builder" ]; then
  cat >&2 <<'MSG'
build-image.sh: no image builder found. Install one of:
  docker  (a running Docker engine: https://docs.docker.com/engine/install/)
  podman  (apt-get install podman)
  buildah (apt-get install buildah; daemon-less, works as root without one)
MSG
  exit 1
fi
command -v "$builder" >/dev/null 2>&1 || {
  echo "build-image.sh: builder $builder is not installed" >&2; exit 1; }

version=$(sed -n 's/^project(lookout VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "build-image.sh: no version in CMakeLists.txt" >&2; exit 1; }
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
source_url=$(git remote get-url origin 2>/dev/null || echo https://github.com/lookout/lookout)
base=$(sed -n 's/^ARG DEBIAN_IMAGE=//p' Containerfile)
tag="lookout:$version"

if [ "$builder" = buildah ]; then
  export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
  export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
fi

have_image() {
  case $builder in
    docker) docker image inspect "$1" >/dev/null 2>&1 ;;
    *) "$builder" inspect --type image "$1" >/dev/null 2>&1 ;;
  esac
}

# The base: present, pulled, or made with mmdebstrap.
if ! have_image "$base" && ! "$builder" pull -q "$base" >/dev/null 2>&1; then
  echo "build-image.sh: cannot pull $base; making it from Debian's packages with mmdebstrap" >&2
  command -v mmdebstrap >/dev/null 2>&1 || {
    echo "build-image.sh: $base cannot be pulled and mmdebstrap is missing: apt-get install mmdebstrap, or make $base available to $builder" >&2
    exit 1; }
  suite=bookworm  # Debian 12, as in debian:12
  tarball=$(mktemp --suffix=.tar)
  trap 'rm -f "$tarball"' EXIT
  mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar "$suite" "$tarball" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" \
    "deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $suite-security main"
  case $builder in
    docker|podman) "$builder" import --change 'CMD ["bash"]' "$tarball" "$base" >/dev/null ;;
    buildah)
      ctr=$(buildah from scratch)
      buildah add --quiet "$ctr" "$tarball" / >/dev/null
      buildah config --cmd bash "$ctr"
      buildah commit --quiet --rm "$ctr" "docker.io/library/$base" >/dev/null ;;
  esac
fi

args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision"
      --build-arg "SOURCE=$source_url" -f Containerfile -t "$tag")
[ -z "$registry" ] || args+=(-t "$registry/lookout:$version")
echo "build-image.sh: building $tag with $builder (revision $revision)" >&2
case $builder in
  buildah) buildah build --layers=false --pull=never "${args[@]}" . ;;
  podman) podman build --pull=missing "${args[@]}" . ;;
  docker) docker build "${args[@]}" . ;;
esac
if [ "$push" -eq 1 ]; then
  "$builder" push "$registry/lookout:$version"
fi
echo "build-image.sh: built $tag${registry:+ and $registry/lookout:$version}" >&2
