#!/usr/bin/env bash
# Installs what the GPU tests need on Debian 12 and is a no-op when it is there:
# a Vulkan driver Dawn accepts (Mesa lavapipe from bookworm-backports) and Debian's Chromium.
set -euo pipefail

need_mesa() { ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || ! ldconfig -p | grep -q libvulkan.so.1 || dpkg --compare-versions "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)" lt 24; }
need_chromium() { [ ! -x /usr/bin/chromium ]; }

if ! need_mesa && ! need_chromium; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages; run: sudo bash scripts/install-system-deps.sh" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if need_mesa && [ -f /etc/apt/sources.list.d/debian.sources ] && [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
  # Backports as a copy of the stock first stanza, so no mirror name is written here.
  sed -n '1,/^$/p' /etc/apt/sources.list.d/debian.sources | sed 's/^Suites:.*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/backports.sources
fi
apt-get update -q
if need_mesa; then apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libvulkan1; fi
if need_chromium; then apt-get install -y -q chromium; fi
