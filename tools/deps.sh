#!/bin/bash
# Installs the Debian packages Vivarium's build, tests, tools/try and bench need.
# Idempotent: asks apt only for what is missing. Needs root when something is.
set -euo pipefail

VIVARIUM_BUILD_DEPS=(
        gcc pkg-config meson ninja-build
        libsystemd-dev libxml2-dev libnl-3-dev libnl-route-3-dev libseccomp-dev libcap-dev
        libarchive-dev libjson-c-dev
        python3
)
# Everything any suite that tools/test runs needs, the bench suite included
# (bench/run uses this list too): one list, so that a fresh machine gets it all.
# A command a test finds missing makes it skip, and a skip fails in CI.
VIVARIUM_TEST_DEPS=(
        systemd dbus systemd-container util-linux iproute2 procps busybox-static
        dnsmasq-base dnsmasq-utils nftables libxml2-utils valgrind binutils kmod
        clang libclang-rt-14-dev
        crun gnuplot-nox file strace python3-dbus python3-gi
        mmdebstrap lxcfs
        umoci skopeo zstd jq podman conmon containerd runc
        openssh-server openssh-client
        cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver python3-selenium
        e2fsprogs qemu-utils dhcpcd-base
)
# Only tests/vm/run.sh (a Debian VM with systemd on pure cgroup v2 and autofs; run
# by tools/test in CI): qemu, mmdebstrap for its image, e2fsprogs for its disks.
VIVARIUM_VM_DEPS=(
        qemu-system-x86 mmdebstrap e2fsprogs
)
# What the VM's image holds (minbase plus these; the image is keyed by this list):
# only what the suites run there need (tools/test's VIVARIUM_VM_SUITES), not the
# whole test list, so the image stays small and builds fast. The kernel is
# bookworm-backports' (6.12): the default user namespace idmaps tmpfs (Linux 6.3)
# and its PID namespace ownership needs 6.11; bookworm's own is 6.1.
# The libraries are what the build links (ldd of the programs); meson and ninja
# run the tests (meson test, testhost_install); mmdebstrap: tools/mkroot checks
# for it before it finds its cached root (carried in by run.sh); qemu-utils:
# qemu-nbd for the nbd test; file: tests check that busybox is static.
# libnss-systemd: as on a standard Debian install (and this machine), the host
# resolves a container's user-namespace UIDs through machined's userdb
# ("vu-NAME-UID"); without it dbus-daemon drops such a container's connection
# after its authentication (it must resolve the UID), which the security suite's
# shared-root checks found.
VIVARIUM_VM_GUEST_DEPS=(
        linux-image-amd64/bookworm-backports initramfs-tools
        systemd systemd-sysv udev dbus kmod systemd-container libnss-systemd
        libsystemd0 libxml2 libnl-3-200 libnl-route-3-200 libseccomp2 libcap2
        libarchive13 libjson-c5
        meson ninja-build python3
        util-linux mount iproute2 procps busybox-static
        dnsmasq-base nftables
        e2fsprogs qemu-utils mmdebstrap file
)

deps_missing() {
        local p
        for p in "$@"; do
                dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
        done
}

deps_install() {
        local missing
        missing=$(deps_missing "$@")
        [ -z "$missing" ] && return 0
        if [ "$(id -u)" != 0 ]; then
                echo "tools/deps.sh: missing packages: $missing (run as root to install them)" >&2
                return 1
        fi
        echo "Installing: $missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # Several test packages are daemons (sshd, containerd, podman's socket,
        # cockpit): the tests start their own inside test hosts, so nothing is
        # started on this machine by the install. Debian's policy-rc.d says so
        # to every postinst; one the machine already has is left as it is.
        local policy=/usr/sbin/policy-rc.d made=0 rc=0
        if [ ! -e "$policy" ]; then
                printf '#!/bin/sh\n# tools/deps.sh: no service starts while installing\nexit 101\n' >"$policy"
                chmod 755 "$policy"
                made=1
        fi
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
        [ "$made" = 1 ] && rm -f "$policy"
        return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
        deps_install "${VIVARIUM_BUILD_DEPS[@]}" "${VIVARIUM_TEST_DEPS[@]}"
fi
