# Shared by demo.sh and test.sh: check and install what the build needs.
# shellcheck shell=bash

is_root() { [ "$(id -u)" = 0 ]; }

apt_updated=0
apt_install() {
    if ! is_root; then
        echo "error: missing packages: $*" >&2
        echo "       install them as root: apt-get install -y --no-install-recommends $*" >&2
        return 1
    fi
    if [ "$apt_updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

need_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        if [ -x "$HOME/.cargo/bin/cargo" ]; then
            export PATH="$HOME/.cargo/bin:$PATH"
        else
            echo "error: no Rust toolchain: install one with rustup (https://rustup.rs), then run this again" >&2
            exit 1
        fi
    fi
}

# libudev-dev and pkg-config: the udev crate links the system libudev. Only
# uio-backend's `udev` feature uses it (off by default; scripts/test.sh
# turns it on for the tests of libudev enumeration).
# libudev-dev is pinned to the installed libudev1 so that installing it
# does not upgrade systemd packages.
need_build_packages() {
    local missing=()
    dpkg-query -W -f='${Status}' pkg-config 2>/dev/null | grep -q 'ok installed' || missing+=(pkg-config)
    if ! dpkg-query -W -f='${Status}' libudev-dev 2>/dev/null | grep -q 'ok installed'; then
        local v
        v=$(dpkg-query -W -f='${Version}' libudev1 2>/dev/null || true)
        if [ -n "$v" ]; then missing+=("libudev-dev=$v"); else missing+=(libudev-dev); fi
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

# man-db: regpoke's install test renders the installed man page with
# `man -l` (man-db depends on groff-base, which does the rendering).
need_test_packages() {
    if ! dpkg-query -W -f='${Status}' man-db 2>/dev/null | grep -q 'ok installed'; then
        apt_install man-db
    fi
}
