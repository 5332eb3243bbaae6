#!/usr/bin/env bash
# The Debian package, as an operator gets it: build it (scripts/package-deb.sh), install it
# with dpkg, check the user, paths, permissions, conffile, man page, completions and the
# systemd unit (`systemd-analyze verify` and `security`), run `zapwoot serve` as the packaged
# user with the packaged configuration and environment file (directly: CI has no running
# systemd), reinstall it as an upgrade does (state and secrets kept), then purge it and check
# that nothing is left but the system user, which Debian policy keeps.
#
# It installs and purges the package on this machine (and systemd, man-db from the Debian
# packages when missing), so it refuses to run where zapwoot is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[deb] %s\n' "$*" >&2; }
fail() { printf '[deb] FAIL: %s\n' "$*" >&2; exit 1; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
as_root() { $sudo "$@"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

if dpkg-query -W -f='${Status}' zapwoot 2>/dev/null | grep -q 'install ok'; then
  fail "zapwoot is installed on this machine; this test installs and purges it: refusing"
fi

missing=()
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v man >/dev/null 2>&1 || missing+=(man-db)
command -v adduser >/dev/null 2>&1 || missing+=(adduser)
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from the Debian packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

scripts/package-deb.sh
target=${CARGO_TARGET_DIR:-$PWD/target}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
deb=$(ls "$target"/debian/zapwoot_"${version}"-*_*.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || deb=$(ls "$target"/debian/zapwoot_"${version}"_*.deb | head -1)
log "package: $(basename "$deb") ($(du -h "$deb" | cut -f1))"

server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  if dpkg-query -W -f='${Status}' zapwoot 2>/dev/null | grep -q 'install ok'; then
    as_root dpkg --purge zapwoot >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

log "dpkg -i"
as_root dpkg -i "$deb" >/dev/null

# The user, the paths and their permissions.
IFS=: read -r _ _ _ _ _ home shell < <(getent passwd zapwoot) || fail "no zapwoot user"
expect_eq "$home" /var/lib/zapwoot "the user's home"
expect_eq "$shell" /usr/sbin/nologin "the user's shell"
getent group zapwoot >/dev/null || fail "no zapwoot group"
expect_eq "$(stat -c '%a %U %G' /var/lib/zapwoot)" "750 zapwoot zapwoot" /var/lib/zapwoot
expect_eq "$(stat -c '%a %U' /etc/zapwoot/zapwoot.toml)" "644 root" /etc/zapwoot/zapwoot.toml
expect_eq "$(stat -c '%a %U %G' /etc/zapwoot/zapwoot.env)" "640 root zapwoot" /etc/zapwoot/zapwoot.env
dpkg-query -W -f='${Conffiles}' zapwoot | grep -q '/etc/zapwoot/zapwoot.toml' ||
  fail "/etc/zapwoot/zapwoot.toml is not a conffile"
token=$(sed -n 's/^ZAPWOOT_ADMIN_TOKEN=//p' /etc/zapwoot/zapwoot.env)
[[ "$token" =~ ^[0-9a-f]{48}$ ]] || fail "the generated admin token is not 48 hex digits"

# The binary: installed, stripped, and the version the workspace says.
expect_eq "$(stat -c '%a' /usr/bin/zapwoot)" 755 /usr/bin/zapwoot
expect_eq "$(/usr/bin/zapwoot --version)" "zapwoot $version" "zapwoot --version"
if readelf -S /usr/bin/zapwoot | grep -qE '\.debug_(info|line|str)|\.symtab'; then
  fail "/usr/bin/zapwoot is not stripped"
fi

# Man page, completions, documentation, unit.
for f in /usr/share/man/man1/zapwoot.1.gz /usr/share/bash-completion/completions/zapwoot \
  /usr/share/zsh/vendor-completions/_zapwoot /usr/share/fish/vendor_completions.d/zapwoot.fish \
  /usr/share/doc/zapwoot/copyright /usr/share/doc/zapwoot/README.md; do
  [ -s "$f" ] || fail "$f missing"
done
man -P cat zapwoot 2>/dev/null | grep -q 'healthcheck' || fail "man zapwoot does not render"
man -P cat zapwoot-serve 2>/dev/null | grep -q 'ZAPWOOT_ADMIN_TOKEN' || fail "man zapwoot-serve does not render"
unit=$(dpkg -L zapwoot | grep -E '/systemd/system/zapwoot\.service$' || true)
[ -n "$unit" ] || fail "no zapwoot.service in the package"
log "systemd-analyze verify $unit"
verify=$(systemd-analyze verify "$unit" 2>&1 || true)
if [ -n "$verify" ]; then
  fail "systemd-analyze verify: $verify"
fi
exposure=$(systemd-analyze security --offline=yes "$unit" 2>&1 | sed -n 's/.*Overall exposure level for zapwoot.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security gave no score"
log "systemd-analyze security: exposure $exposure (0 = best, 10 = worst)"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $exposure is above 2.0"

# Serve as the packaged user, with the packaged configuration and environment file, the way
# the unit's ExecStart does (only the port moved off 8080, which may be taken here).
port=18080
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
serve() {
  # umask as the unit's UMask=; exec, so that $server is the process SIGTERM reaches.
  (cd /var/lib/zapwoot && umask 077 && exec $sudo runuser -u zapwoot -- env -i PATH=/usr/bin:/bin \
    $(grep -E '^[A-Z_]+=' /etc/zapwoot/zapwoot.env) ZAPWOOT_LISTEN="127.0.0.1:$port" \
    /usr/bin/zapwoot --config /etc/zapwoot/zapwoot.toml serve) > /tmp/zapwoot-deb-serve.log 2>&1 &
  server=$!
  for _ in $(seq 1 300); do
    /usr/bin/zapwoot healthcheck --listen "127.0.0.1:$port" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { cat /tmp/zapwoot-deb-serve.log >&2; fail "zapwoot serve exited"; }
    sleep 0.1
  done
  cat /tmp/zapwoot-deb-serve.log >&2
  fail "no /healthz within 30 s"
}
admin_status() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /api/v1/instances HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$1" >&3
  head -1 <&3 | awk '{print $2}'
  exec 3<&-
}
stop_serving() {
  kill -TERM "$server"
  wait "$server" 2>/dev/null || true
  server=""
}
log "zapwoot serve as user zapwoot on 127.0.0.1:$port"
serve
expect_eq "$(admin_status "$token")" 200 "the admin API with the generated token"
expect_eq "$(admin_status wrong)" 401 "the admin API with a wrong token"
expect_eq "$(stat -c '%U %a' /var/lib/zapwoot/zapwoot.db)" "zapwoot 600" "the database file"
expect_eq "$(stat -c '%U %a' /var/lib/zapwoot/zapwoot.db.key)" "zapwoot 600" "the key file"
grep -q "$token" /tmp/zapwoot-deb-serve.log && fail "the admin token appears in the log"
stop_serving

# An upgrade (the same package again): state, key and secrets stay.
key_before=$(as_root sha256sum /var/lib/zapwoot/zapwoot.db.key)
as_root dpkg -i "$deb" >/dev/null
expect_eq "$(sed -n 's/^ZAPWOOT_ADMIN_TOKEN=//p' /etc/zapwoot/zapwoot.env)" "$token" "the token after an upgrade"
expect_eq "$(as_root sha256sum /var/lib/zapwoot/zapwoot.db.key)" "$key_before" "the key file after an upgrade"
serve
expect_eq "$(admin_status "$token")" 200 "the admin API after an upgrade"
stop_serving

log "dpkg --purge"
as_root dpkg --purge zapwoot >/dev/null
for f in /usr/bin/zapwoot /etc/zapwoot /var/lib/zapwoot "$unit" /usr/share/man/man1/zapwoot.1.gz \
  /usr/share/man/man1/zapwoot-serve.1.gz /usr/share/doc/zapwoot /usr/share/bash-completion/completions/zapwoot; do
  [ ! -e "$f" ] || fail "$f is left after purge"
done
dpkg-query -W -f='${Status}' zapwoot 2>/dev/null | grep -q 'install ok' && fail "still installed"
# (Container engines' storage under /var/lib holds images of their own: not the package's.)
left=$(find /etc /var/lib /usr/bin /usr/lib /usr/share \( -path /var/lib/containers -o -path /var/lib/docker \) -prune \
  -o -name '*zapwoot*' -print 2>/dev/null || true)
[ -z "$left" ] || fail "left after purge: $left"
getent passwd zapwoot >/dev/null || fail "the system user should be kept (Debian policy)"
# What policy keeps is this test's to tidy, so the next run starts from the same machine.
as_root deluser --quiet --system zapwoot >/dev/null 2>&1 || as_root userdel zapwoot
getent group zapwoot >/dev/null && as_root groupdel zapwoot
log "ok: installed, served as zapwoot, upgraded, purged"
