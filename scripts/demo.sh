#!/usr/bin/env bash
# Sets up what is missing and runs the demo: a QEMU VM with edu and ivshmem,
# a user-space driver inside it using the typed register blocks over UIO and
# sysfs, a host process exchanging data with it through ivshmem, and our
# ivshmem server with two VMs and two host processes exchanging messages
# (UIO guests poll); then a VFIO VM (emulated IOMMU): edu used without root
# by a member of the udev rule's group, isolation by the IOMMU, and a guest
# sleeping on ivshmem's MSI-X while a host process sends it messages.
# Usage: scripts/demo.sh [--messages N]   (messages per stream, default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

need_rust
need_build_packages
if ! is_root; then
    echo "error: the demo boots a VM and binds PCI devices inside it: run it as root (for example from `su -`)" >&2
    exit 1
fi
cargo run -q -p qemu -- provision
cargo build -q --release -p vm-tests -p ivshmem --bins
cargo run -q --release -p vm-tests --bin vm-demo -- "$@"
