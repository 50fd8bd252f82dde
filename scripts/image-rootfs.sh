#!/usr/bin/env bash
# Assembles the runtime image's root filesystem in DEST from a built lookout binary: the binary,
# exactly the shared libraries it loads (from ldd, so nothing else), the Debian copyright files
# of the packages they come from, CA certificates, time zone data, and a passwd/group naming
# uid 65534. No shell, no package manager, nothing writable. Run by the Containerfile's build
# stage (which has a shell); the runtime stage is FROM scratch and copies DEST whole.
#   scripts/image-rootfs.sh BINARY DEST
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BINARY DEST" >&2; exit 2; }
bin=$1 dest=$2
[ -x "$bin" ] || { echo "$0: $bin is not an executable" >&2; exit 1; }
mkdir -p "$dest"/usr/bin "$dest"/usr/lib "$dest"/usr/lib64 "$dest"/etc/ssl/certs \
         "$dest"/usr/share/doc "$dest"/usr/lib/ssl
# Debian 12's merged /usr: /lib and /lib64 are links into /usr, as the loader expects.
ln -s usr/lib "$dest"/lib
ln -s usr/lib64 "$dest"/lib64

install -m 0755 "$bin" "$dest"/usr/bin/lookout
strip --strip-unneeded "$dest"/usr/bin/lookout

# Every shared object the binary loads, the dynamic loader included, copied (not linked) to the
# path the loader looks it up by.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
[ -n "$libs" ] || { echo "$0: ldd found no libraries in $bin" >&2; exit 1; }
packages=()
for lib in $libs; do
  target="$dest/usr${lib#/usr}"           # /lib/x/libc.so.6 and /usr/lib/x/... both under /usr
  mkdir -p "$(dirname "$target")"
  cp -L "$lib" "$target"
  chmod 0755 "$target"
  # dpkg records a file under the path its package installed it to, /lib or /usr/lib.
  real=$(readlink -f "$lib")
  for p in "$lib" "$real" "${real#/usr}"; do
    pkg=$(dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1) || true
    if [ -n "$pkg" ]; then packages+=("$pkg"); break; fi
  done
done
# Licences of what is shipped (Debian keeps them per package).
packages+=(tzdata ca-certificates)
for pkg in $(printf '%s\n' "${packages[@]}" | sort -u); do
  if [ -f "/usr/share/doc/$pkg/copyright" ]; then
    mkdir -p "$dest/usr/share/doc/$pkg"
    cp "/usr/share/doc/$pkg/copyright" "$dest/usr/share/doc/$pkg/copyright"
  fi
done

# TLS trust: libcurl (kubelet, API server, app targets, OTLP/HTTP export) and gRPC read the
# bundle; OpenSSL's default locations point at it as on Debian.
cp -L /etc/ssl/certs/ca-certificates.crt "$dest"/etc/ssl/certs/ca-certificates.crt
ln -s /etc/ssl/certs/ca-certificates.crt "$dest"/usr/lib/ssl/cert.pem
ln -s /etc/ssl/certs "$dest"/usr/lib/ssl/certs

# Time zones: node_time_zone_offset_seconds reads the host's zone through
# TZ=:/host/root/etc/localtime (deploy/daemonset.yaml), usually a link into /usr/share/zoneinfo,
# which resolves inside the image. The leap-second "right/" copies are not needed.
mkdir -p "$dest"/usr/share/zoneinfo
(cd /usr/share/zoneinfo && tar --exclude=./right -cf - .) | tar -C "$dest"/usr/share/zoneinfo -xf -

# Relabeling's lowercase/uppercase map non-ASCII letters through the C.UTF-8 locale's
# character classes (newlocale), which glibc loads from here (libc-bin ships it).
mkdir -p "$dest"/usr/lib/locale
cp -a /usr/lib/locale/C.utf8 "$dest"/usr/lib/locale/

# Identity of the only user the agent runs as, and name service order (glibc 2.36 has the files
# and dns back ends built in).
printf 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$dest"/etc/passwd
printf 'nogroup:x:65534:\n' >"$dest"/etc/group
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$dest"/etc/nsswitch.conf

# Mount points of deploy/daemonset.yaml, so a read-only root needs nothing created.
mkdir -p "$dest"/etc/lookout "$dest"/host/proc "$dest"/host/sys "$dest"/host/root \
         "$dest"/var/lib/lookout

# Nothing is writable in the image: root owns everything, no file or directory is writable by
# anyone else.
chown -R 0:0 "$dest"
chmod -R go-w "$dest"
