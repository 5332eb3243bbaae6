# Debian's Chromium and chromedriver for the console's browser tests. Source this file, then:
#   ensure_chromium   # installs the packages chromium and chromium-driver when missing
# The tests find /usr/bin/chromium and /usr/bin/chromedriver (or ZAPWOOT_CHROMIUM and
# ZAPWOOT_CHROMEDRIVER).

chromium_log() { printf '[chromium] %s\n' "$*" >&2; }

ensure_chromium() {
  local chromium=${ZAPWOOT_CHROMIUM:-/usr/bin/chromium}
  local driver=${ZAPWOOT_CHROMEDRIVER:-/usr/bin/chromedriver}
  if [ -x "$chromium" ] && [ -x "$driver" ]; then
    chromium_log "using $("$chromium" --version 2>/dev/null | head -n 1)"
    return 0
  fi
  chromium_log "installing chromium and chromium-driver from the Debian packages"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
}
