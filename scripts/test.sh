#!/usr/bin/env bash
# Sets up what is missing and runs every test: the host tests (no root, no
# VM) and, as root, the tests inside QEMU VMs against edu and ivshmem.
#
#   scripts/test.sh             # as root: everything
#   scripts/test.sh             # as a normal user: host tests only, VM tests
#                               # are skipped with a message saying why
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

need_rust
need_build_packages
need_test_packages

if is_root; then
    # QEMU, busybox and the Debian guest kernel (cached under .cache/vm).
    cargo run -q -p qemu -- provision
    export VM_TESTS=1
else
    echo "note: not root: the VM tests will be skipped (they need QEMU, the guest kernel and /dev/shm; run as root to provision and run them)"
fi

status=0
cargo test --workspace --no-fail-fast || status=$?

# uio-backend's `udev` feature (enumeration with libudev) is off in the
# workspace build above, so that no crate links libudev by feature
# unification (regpoke's tests check its binary). Its code is tested here:
# on the host, and in the VM against the real UIO devices (the VM case
# compares libudev's list with the sysfs scan). Its `tokio` feature
# (AsyncIrq) is on in the workspace build through vm-tests; it is named here
# too, so that uio-backend's own tests of it run whatever vm-tests asks for.
cargo test -p uio-backend --features udev,tokio --no-fail-fast || status=$?
if is_root; then
    cargo test -p vm-tests --features udev --test vm -- uio_devices_listed_through_udev || status=$?
fi
exit "$status"
