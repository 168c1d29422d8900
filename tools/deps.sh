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
        e2fsprogs qemu-utils
)
# Only tests/vm/run.sh (a Debian VM with systemd on pure cgroup v2 and autofs; not
# run by tools/test): qemu, mmdebstrap for its image, e2fsprogs for its disks.
VIVARIUM_VM_DEPS=(
        qemu-system-x86 mmdebstrap e2fsprogs
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
