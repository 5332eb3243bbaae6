#!/usr/bin/env bash
# The container image: `podman build` of the Dockerfile, then the image run with a volume,
# its HEALTHCHECK, its user and its state checked, and a clean stop on SIGTERM.
#
# HEALTHCHECK needs the docker image format (podman build --format docker).
# Installs podman (and runc, debootstrap) from the Debian packages when missing. Where the
# image registry (docker.io) cannot be reached, the build stage cannot be pulled: then the
# Dockerfile's runtime stage is built unchanged on a Debian bookworm base made here with
# debootstrap, with the release binary this machine builds (the same build step the Debian
# package test proves) standing in for the build stage, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[container] %s\n' "$*" >&2; }
fail() { printf '[container] FAIL: %s\n' "$*" >&2; exit 1; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

# compose.yaml and the Dockerfile name only settings the binary reads: each ZAPWOOT_ variable
# there is one `zapwoot --help` or `zapwoot serve --help` lists (compose.yaml is not run
# here: its images come from Docker Hub).
cargo build --locked -q -p zapwoot
target=${CARGO_TARGET_DIR:-$PWD/target}
known=$("$target/debug/zapwoot" --help; "$target/debug/zapwoot" serve --help)
for var in $(grep -ohE 'ZAPWOOT_[A-Z_]+' compose.yaml Dockerfile | sort -u); do
  grep -q "env: $var" <<<"$known" || fail "$var (compose.yaml or Dockerfile) is not a setting of zapwoot"
done
grep -q 'build: \.' compose.yaml || fail "compose.yaml does not build this Dockerfile"

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from the Debian packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# runc copes with the hybrid cgroup layouts of small VMs where crun does not; limits a
# container without CAP_SYS_RESOURCE may set.
podman=($sudo podman --runtime runc)
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=4096:4096")

image=localhost/zapwoot:test
name=zapwoot-test-$$
volume=zapwoot-test-$$
work=$(mktemp -d -t zapwoot-container.XXXXXX)
cleanup() {
  "${podman[@]}" rm -f "$name" >/dev/null 2>&1 || true
  "${podman[@]}" volume rm -f "$volume" >/dev/null 2>&1 || true
  "${podman[@]}" rmi -f "$image" >/dev/null 2>&1 || true
  $sudo rm -rf "$work"
}
trap cleanup EXIT

if "${podman[@]}" pull -q docker.io/library/debian:bookworm-slim >"$work/pull.log" 2>&1; then
  log "podman build (both stages)"
  "${podman[@]}" build --format docker "${limits[@]}" --network host -t "$image" . >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; fail "podman build"; }
else
  log "docker.io cannot be reached here: $(grep -o 'Error.*' "$work/pull.log" | head -1)"
  log "building the Dockerfile's runtime stage on a debootstrapped bookworm, with the host's release binary"
  base=localhost/debian:bookworm-slim
  if ! "${podman[@]}" image exists "$base"; then
    $sudo debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
      { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
    $sudo tar -C "$work/rootfs" -c . | "${podman[@]}" import - "$base" >/dev/null
    $sudo rm -rf "$work/rootfs"
  fi
  cargo build --release --locked -p zapwoot
  context="$work/context"
  mkdir -p "$context/out" "$context/bins/zapwoot/packaging"
  cp "$target/release/zapwoot" "$context/out/zapwoot"
  strip "$context/out/zapwoot"
  cp bins/zapwoot/packaging/zapwoot.toml "$context/bins/zapwoot/packaging/"
  # The build stage becomes the binary just built; the runtime stage is the Dockerfile's own.
  {
    echo "FROM scratch AS build"
    echo "COPY out/zapwoot /out/zapwoot"
    awk 'seen { print } /^FROM / { n++; if (n == 2) { seen = 1; print } }' Dockerfile |
      sed "s|^FROM docker.io/library/debian:bookworm-slim|FROM $base|"
  } >"$context/Dockerfile"
  grep -q "^FROM $base" "$context/Dockerfile" || fail "the Dockerfile's runtime stage is not FROM debian:bookworm-slim"
  "${podman[@]}" build --format docker "${limits[@]}" --network host -t "$image" "$context" >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; fail "podman build"; }
fi
log "image: $("${podman[@]}" image inspect "$image" --format '{{.Size}}' | awk '{ printf "%.1f MB", $1 / 1e6 }')"

port=18180
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
"${podman[@]}" volume create "$volume" >/dev/null
"${podman[@]}" run -d --name "$name" "${limits[@]}" --network host -v "$volume:/var/lib/zapwoot" \
  -e ZAPWOOT_LISTEN="0.0.0.0:$port" -e ZAPWOOT_ADMIN_TOKEN=container-test-token "$image" >/dev/null 2>>"$work/podman.log"
healthy=""
for _ in $(seq 1 100); do
  if "${podman[@]}" healthcheck run "$name" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 0.2
done
[ -n "$healthy" ] || { "${podman[@]}" logs "$name" >&2; fail "HEALTHCHECK never passed"; }
log "HEALTHCHECK (zapwoot healthcheck) passes"
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }
expect_eq "$("${podman[@]}" exec "$name" id -un)" zapwoot "the container's user"
expect_eq "$("${podman[@]}" exec "$name" stat -c '%U %a' /var/lib/zapwoot/zapwoot.db)" "zapwoot 600" "the database in the volume"
expect_eq "$("${podman[@]}" exec "$name" stat -c '%U %a' /var/lib/zapwoot/zapwoot.db.key)" "zapwoot 600" "the key file in the volume"
key=$("${podman[@]}" exec "$name" sha256sum /var/lib/zapwoot/zapwoot.db.key)
"${podman[@]}" stop -t 30 "$name" >/dev/null 2>>"$work/podman.log"
expect_eq "$("${podman[@]}" inspect "$name" --format '{{.State.ExitCode}}')" 0 "the exit code after SIGTERM"
"${podman[@]}" logs "$name" 2>&1 | grep -q "stopped" || fail "no clean shutdown in the log"
# The state outlives the container: a new one on the same volume opens the same database.
"${podman[@]}" rm "$name" >/dev/null 2>>"$work/podman.log"
"${podman[@]}" run -d --name "$name" "${limits[@]}" --network host -v "$volume:/var/lib/zapwoot" \
  -e ZAPWOOT_LISTEN="0.0.0.0:$port" "$image" >/dev/null 2>>"$work/podman.log"
for _ in $(seq 1 100); do
  "${podman[@]}" healthcheck run "$name" >/dev/null 2>&1 && break
  sleep 0.2
done
"${podman[@]}" healthcheck run "$name" >/dev/null 2>&1 || fail "a second container on the volume is not healthy"
expect_eq "$("${podman[@]}" exec "$name" sha256sum /var/lib/zapwoot/zapwoot.db.key)" "$key" "the key file in a second container"
log "ok: built, healthy, non-root, state in the volume, clean stop"
