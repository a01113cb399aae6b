#!/usr/bin/env bash
# Install Debian's chromium for tests/test_browser.py (driven by the Python
# playwright package with executable_path=/usr/bin/chromium; Playwright's own
# browser download is not used). Idempotent: does nothing when it is there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "install-browser: /usr/bin/chromium is already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get: install Debian's chromium as /usr/bin/chromium by hand" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-browser: need root (or sudo) to apt-get install chromium" >&2
        exit 1
    fi
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq chromium
if [ ! -x /usr/bin/chromium ]; then
    echo "install-browser: apt-get installed chromium, but /usr/bin/chromium is missing" >&2
    exit 1
fi
echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
