#!/usr/bin/env bash
# System packages the GPU tests need on Debian 12 (see ../shared/docs/webgpu-without-a-gpu.md):
#   vulkan:   libvulkan.so.1 + a Vulkan driver Dawn accepts: Mesa lavapipe >= 24 from bookworm-backports
#             (bookworm's own Mesa 22.3 lavapipe is rejected by Dawn);
#   chromium: Debian's Chromium at /usr/bin/chromium (ships SwiftShader).
# Usage: bash scripts/install-system-deps.sh [--check] [vulkan] [chromium]   (default: both)
#   --check: install nothing; list what is missing and the exact command, exit 1 if anything is.
# Idempotent: a no-op (no apt-get at all) when everything is there. Installing needs root.
set -euo pipefail

check=0
want=()
for a in "$@"; do
  case "$a" in
    --check) check=1 ;;
    vulkan | chromium) want+=("$a") ;;
    *) echo "usage: $0 [--check] [vulkan] [chromium]" >&2; exit 2 ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=(vulkan chromium)
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

has_libvulkan() { ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || compgen -G '/usr/lib/*/libvulkan.so.1' >/dev/null; }
has_lavapipe() { compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null; }
mesa_new_enough() {
  command -v dpkg-query >/dev/null || return 0 # not Debian: trust the ICD that is there
  local v
  v="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 24
}

missing=()
need_vulkan=0
need_chromium=0
for w in "${want[@]}"; do
  if [ "$w" = vulkan ]; then
    has_libvulkan || { missing+=("libvulkan.so.1 (the Vulkan loader Dawn opens)"); need_vulkan=1; }
    if ! has_lavapipe; then
      missing+=("Mesa lavapipe (/usr/share/vulkan/icd.d/lvp_icd*.json)"); need_vulkan=1
    elif ! mesa_new_enough; then
      missing+=("mesa-vulkan-drivers >= 24 from bookworm-backports (installed: $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo none); Dawn rejects bookworm's 22.3)"); need_vulkan=1
    fi
  fi
  if [ "$w" = chromium ] && [ ! -x "$CHROMIUM" ]; then
    missing+=("Chromium at $CHROMIUM"); need_chromium=1
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

report() {
  echo "missing system packages for the GPU tests:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  echo "install them as root with: bash scripts/install-system-deps.sh ${want[*]}" >&2
  if [ $need_vulkan = 1 ]; then
    echo "  (vulkan: add a bookworm-backports apt source, then apt-get install -y -t bookworm-backports mesa-vulkan-drivers)" >&2
  fi
  if [ $need_chromium = 1 ]; then echo "  (chromium: apt-get install -y chromium)" >&2; fi
}

if [ $check = 1 ]; then report; exit 1; fi
if [ "$(id -u)" != 0 ]; then report; exit 1; fi
if ! command -v apt-get >/dev/null; then
  report
  echo "no apt-get here: these recipes are for Debian 12 (bookworm)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ $need_vulkan = 1 ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Backports as a copy of the stock first stanza (or first line), so no mirror name is written here.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -n '1,/^$/p' /etc/apt/sources.list.d/debian.sources \
      | sed 's/^Suites:.*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/backports.sources
  elif [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm \(.*\)$/deb \1\2 bookworm-backports \3/p' /etc/apt/sources.list | head -n 1 \
      > /etc/apt/sources.list.d/backports.list
  fi
fi
echo "installing: ${missing[*]}" >&2
apt-get update -q
if [ $need_vulkan = 1 ]; then apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers; fi
if [ $need_chromium = 1 ]; then apt-get install -y -q chromium; fi

# Verify.
exec bash "$0" --check "${want[@]}"
