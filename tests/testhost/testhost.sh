# shellcheck shell=bash
# Vivarium test host harness. Source this file from bash; see README.md beside it.
#
# A test host is this machine's own OS booted by a real systemd as PID 1 of fresh
# PID, mount, UTS, IPC, network and cgroup namespaces, on an overlay root whose
# writes land in a tmpfs. Tests talk to its systemd and system bus only; the
# machine's own systemd, bus, cgroups, network and files are left alone.
#
#   testhost_boot NAME       boot; sets TESTHOST_NAME, TESTHOST_PID, TESTHOST_DIR
#   testhost_run CMD...      run CMD inside the current host
#   testhost_install BUILD   meson install BUILD inside, then reload systemd and D-Bus
#   testhost_up NAME BUILD LOG   boot and install, or print "not ok 1 - ..." and exit 1
#   testhost_manager_env VAR=VALUE...   vivariumd's environment (a drop-in), then daemon-reload
#   testhost_teardown [NAME] kill the host by PID, remove its cgroups and state
#   testhost_skip_or_fail MSG   exit 77, or 1 when VIVARIUM_TESTS_MUST_RUN=1
#   testhost_require_tools TOOL...   skip (or fail) unless each TOOL is a command here
#
# Knobs (environment or shell variables, read at boot):
#   TESTHOST_BOOT_TIMEOUT  seconds to wait for systemd to finish booting (60)
#   TESTHOST_BIND          extra paths to bind read-only at the same path inside
#                          (the repository and $VIVARIUM_BUILD_DIR always are)
#   TESTHOST_DROP_CAPS     capabilities dropped from the host's bounding set
#   TESTHOST_MASK          extra units to mask inside the host
#   TESTHOST_TRACE         if set, boot-inner.sh traces itself into the host's log
#   TESTHOST_TMPFS         directories that get a fresh tmpfs inside, made if
#                          missing ("/export /srv"): the overlay root cannot be
#                          idmapped, so private roots and bind sources of
#                          containers in their default user namespace live there
#   TESTHOST_ENV           VAR=VALUE words set for every unit of the host
#                          (systemd.setenv=) and every testhost_run command, e.g.
#                          SYSTEMD_BUS_TIMEOUT=10min where the machine is slow (a VM
#                          under TCG: tests/vm/run.sh)

if [ -z "${BASH_VERSION:-}" ]; then
	echo "testhost.sh: needs bash" >&2
	return 1
fi

TESTHOST__LIB=$(readlink -f "${BASH_SOURCE[0]}")
TESTHOST__LIBDIR=${TESTHOST__LIB%/*}
TESTHOST__TOP=$(readlink -f "$TESTHOST__LIBDIR/../..")
TESTHOST__RUNDIR=/run
TESTHOST__PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Capabilities a test host has no business with: they act on the whole machine
# (kernel modules, the clock, the kernel log, raw I/O, MAC policy, suspend).
: "${TESTHOST_DROP_CAPS:=sys_module,sys_time,wake_alarm,syslog,sys_rawio,mac_admin,mac_override,block_suspend}"
# Units masked inside (systemd.mask= on PID 1's command line). Most would skip
# themselves anyway in a container with a read-only /sys and /proc/sys, but they
# act on the whole machine (modules, sysctls, binfmt, the clock, udev, pstore)
# or cannot work there; timers.target keeps apt/man-db/e2scrub jobs from firing.
# With or without these, systemd 252 reaches "running" here; the masks keep it
# so on other machines and make the host's behaviour not depend on conditions.
TESTHOST__MASK_DEFAULT="timers.target systemd-firstboot.service systemd-pcrphase.service
systemd-pcrphase-sysinit.service systemd-repart.service systemd-pstore.service
systemd-timesyncd.service systemd-modules-load.service kmod-static-nodes.service
systemd-binfmt.service proc-sys-fs-binfmt_misc.automount systemd-sysctl.service
sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount
sys-fs-fuse-connections.mount dev-hugepages.mount systemd-hwdb-update.service
systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service
systemd-journald-audit.socket getty.target console-getty.service"

TESTHOST_NAME=${TESTHOST_NAME:-}
TESTHOST_PID=${TESTHOST_PID:-}
TESTHOST_DIR=${TESTHOST_DIR:-}
TESTHOST__HOSTS=${TESTHOST__HOSTS:-}

testhost__say() { echo "testhost: $*" >&2; }

# Exits 77 (skipped), or 1 with MSG when VIVARIUM_TESTS_MUST_RUN=1.
testhost_skip_or_fail() {
	if [ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ]; then
		echo "FAIL: cannot run, and VIVARIUM_TESTS_MUST_RUN=1: $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

# testhost_require [helper|vivariumd|vivctl|oci|import|busybox]...: the common start of a
# test that boots a test host: skips (fails under VIVARIUM_TESTS_MUST_RUN=1)
# unless test hosts can boot here, each named program is built in
# $VIVARIUM_BUILD_DIR, and for 'busybox' a static /bin/busybox exists (the
# private roots' shell). Sets $build.
testhost_require() {
	local why what missing=
	why=$(testhost_preflight) || testhost_skip_or_fail "$why"
	build=${VIVARIUM_BUILD_DIR:-}
	for what in "$@"; do
		case $what in
		helper) [ -n "$build" ] && [ -x "$build/src/helper/vivarium-helper" ] || missing="$missing vivarium-helper" ;;
		vivariumd) [ -n "$build" ] && [ -x "$build/src/manager/vivariumd" ] || missing="$missing vivariumd" ;;
		vivctl) [ -n "$build" ] && [ -x "$build/src/ctl/vivctl" ] || missing="$missing vivctl" ;;
		oci) [ -n "$build" ] && [ -x "$build/src/oci/vivarium-oci" ] || missing="$missing vivarium-oci" ;;
		import) [ -n "$build" ] && [ -x "$build/src/image/vivarium-import" ] || missing="$missing vivarium-import" ;;
		busybox)
			file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' ||
				testhost_skip_or_fail "no static /bin/busybox (busybox-static)"
			;;
		*) testhost_skip_or_fail "testhost_require: unknown requirement '$what'" ;;
		esac
	done
	[ -z "$missing" ] || testhost_skip_or_fail "not built:$missing (VIVARIUM_BUILD_DIR='$build')"
}

# testhost_require_tools TOOL...: the commands a test runs besides the built
# programs: skips (fails under VIVARIUM_TESTS_MUST_RUN=1) unless each TOOL is
# a command here (in PATH, or in /usr/sbin or /sbin, which a user's PATH may
# lack), saying "needs TOOL (PACKAGE; tools/deps.sh installs it)" for the
# first one missing.
testhost_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$t" >/dev/null 2>&1 ||
			testhost_skip_or_fail "needs $t ($(testhost__package_of "$t")tools/deps.sh installs it)"
	done
}

# The Debian package of a tool the tests run, with "; " after it, or nothing
# when the tool is not listed here.
testhost__package_of() {
	local p
	case $1 in
	dnsmasq) p=dnsmasq-base ;;
	dhcp_release | dhcp_release6) p=dnsmasq-utils ;;
	dhcpcd) p=dhcpcd-base ;;
	nft) p=nftables ;;
	ip | bridge) p=iproute2 ;;
	busybox) p=busybox-static ;;
	python3 | umoci | skopeo | jq | lxcfs | podman | conmon | mmdebstrap) p=$1 ;;
	qemu-nbd | qemu-img) p=qemu-utils ;;
	mkfs.ext4 | debugfs) p=e2fsprogs ;;
	losetup) p=mount ;;
	unshare | nsenter) p=util-linux ;;
	containerd | ctr | containerd-shim-runc-v2) p=containerd ;;
	sshd) p=openssh-server ;;
	ssh | ssh-keygen) p=openssh-client ;;
	systemd-stdio-bridge) p=systemd ;;
	machinectl) p=systemd-container ;;
	dbus-monitor) p=dbus ;;
	*) return 0 ;;
	esac
	echo "$p; "
}

# Prints why a test host cannot be booted here and returns 1, or returns 0.
testhost_preflight() {
	local t
	if [ "$(id -u)" != 0 ]; then
		echo "test hosts need root"
		return 1
	fi
	for t in unshare nsenter setpriv mount umount pivot_root; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "$t is missing (util-linux)"
			return 1
		fi
	done
	if [ ! -x /lib/systemd/systemd ] && [ ! -x /usr/lib/systemd/systemd ]; then
		echo "systemd is not installed"
		return 1
	fi
	if [ ! -e /proc/self/ns/cgroup ]; then
		echo "the kernel has no cgroup namespaces"
		return 1
	fi
	if ! command -v dbus-daemon >/dev/null 2>&1 && ! command -v dbus-broker >/dev/null 2>&1; then
		echo "no D-Bus daemon is installed (dbus)"
		return 1
	fi
	# (A module not loaded yet is loaded by the kernel at the first mount.)
	if ! grep -qw overlay /proc/filesystems && ! modinfo -n overlay >/dev/null 2>&1; then
		echo "the kernel has no overlayfs"
		return 1
	fi
	if [ -z "$(testhost__cg_hierarchies)" ]; then
		echo "no cgroup hierarchy is mounted under /sys/fs/cgroup"
		return 1
	fi
	return 0
}

# Reads the first line of FILE into the variable VAR (no fork); 1 if unreadable.
testhost__get() { # VAR FILE
	local -n testhost__v=$1
	testhost__v=
	{ read -r testhost__v <"$2"; } 2>/dev/null || [ -n "$testhost__v" ]
}

# Field 22 of /proc/PID/stat (start time in ticks): guards against PID reuse.
testhost__starttime() {
	local s
	testhost__get s "/proc/$1/stat" || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "${20}"
}

# True if PID is the process recorded with START and is running, not a zombie
# (with "any": in any state, i.e. not yet reaped).
testhost__same_proc() { # PID START [any]
	local s any=${3:-}
	[ -n "$1" ] && [ -n "$2" ] || return 1
	testhost__get s "/proc/$1/stat" || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- "$2" $s
	[ "${21}" = "$1" ] && { [ -n "$any" ] || { [ "$2" != Z ] && [ "$2" != X ]; }; }
}

# The machine's cgroup hierarchies: "MOUNTPOINT FSTYPE OPTIONS" lines, for every
# cgroup or cgroup2 mount at or under /sys/fs/cgroup. OPTIONS are the super block
# options needed to mount the same hierarchy again (rw and release_agent dropped).
testhost__cg_hierarchies() {
	local _id _p _dev _root mp _opts rest fstype sopts o keep
	while read -r _id _p _dev _root mp _opts rest; do
		rest=" $rest"
		rest=${rest#* - }
		read -r fstype _ sopts <<<"$rest"
		case $fstype in cgroup | cgroup2) ;; *) continue ;; esac
		case $mp in /sys/fs/cgroup | /sys/fs/cgroup/*) ;; *) continue ;; esac
		keep=
		for o in ${sopts//,/ }; do
			case $o in rw | ro | release_agent=*) continue ;; esac
			keep=${keep:+$keep,}$o
		done
		echo "$mp $fstype ${keep:-defaults}"
	done </proc/self/mountinfo
}

# Registers the EXIT/INT/TERM/HUP handling once per shell process. An EXIT trap
# that was already set is kept: it runs first (in a subshell, so that an "exit"
# in it cannot skip the teardown), then every test host of this shell goes.
# shellcheck disable=SC2120 # "set --" below parses the old trap
testhost__register_traps() {
	local old sig code
	[ "${TESTHOST__TRAP_PID:-}" = "$BASHPID" ] && return 0
	# A subshell: the hosts listed are its parent's, and so is that trap.
	TESTHOST__HOSTS=
	old=$(trap -p EXIT)
	if [ -n "$old" ] && [[ $old != *testhost__exit_trap* ]]; then
		eval "set -- $old"
		TESTHOST__OLD_EXIT_TRAP=$3
	else
		TESTHOST__OLD_EXIT_TRAP=
	fi
	# shellcheck disable=SC2154
	trap 'testhost__exit_trap $?' EXIT
	for sig in INT:130 TERM:143 HUP:129; do
		code=${sig#*:}
		sig=${sig%:*}
		# shellcheck disable=SC2064 # $code is meant to expand now
		[ -n "$(trap -p "$sig")" ] || trap "exit $code" "$sig"
	done
	TESTHOST__TRAP_PID=$BASHPID
}

testhost__exit_trap() {
	local rc=$1 n
	set +e
	if [ -n "${TESTHOST__OLD_EXIT_TRAP:-}" ]; then
		( (exit "$rc"); eval "$TESTHOST__OLD_EXIT_TRAP" )
	fi
	for n in $TESTHOST__HOSTS; do
		testhost_teardown "$n"
	done
	exit "$rc"
}

# Waits until the watchdog's caller is gone, then tears the host down: covers a
# test shell killed by SIGKILL (e.g. a timeout), which runs no trap.
testhost__watchdog() { # NAME CALLER_PID CALLER_START
	local dir=$TESTHOST__RUNDIR/testhost-$1
	while [ -d "$dir" ] && testhost__same_proc "$2" "$3"; do
		sleep 1
	done
	if [ -d "$dir" ]; then
		testhost__say "$1: the shell that booted it is gone; tearing it down"
		TESTHOST__IN_WATCHDOG=1 testhost_teardown "$1"
	fi
}

testhost__is_up() { # NAME: the host's PID 1 is alive and the one recorded
	local dir=$TESTHOST__RUNDIR/testhost-$1 pid start
	testhost__get pid "$dir/pid" || return 1
	testhost__get start "$dir/pid.start" || return 1
	testhost__same_proc "$pid" "$start"
}

# Boots the test host NAME and waits until its systemd has finished booting.
testhost_boot() { # NAME
	local name=${1:-} dir why t0 mp fstype binds b d start i pid state c lacking
	local timeout=${TESTHOST_BOOT_TIMEOUT:-60} caller=$BASHPID
	if [ $# -ne 1 ] || ! [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$ ]]; then
		testhost__say "usage: testhost_boot NAME (letters, digits, '.', '_', '-'; at most 63)"
		return 1
	fi
	if ! why=$(testhost_preflight); then
		testhost_skip_or_fail "cannot boot a test host: $why"
	fi
	for b in ${TESTHOST_ENV:-}; do
		if ! [[ $b =~ ^[A-Za-z_][A-Za-z0-9_]*=[^[:space:]]*$ ]]; then
			testhost__say "TESTHOST_ENV: '$b' is not VAR=VALUE"
			return 1
		fi
	done
	dir=$TESTHOST__RUNDIR/testhost-$name
	if [ -e "$dir" ]; then
		testhost__get b "$dir/launcher.pid"
		testhost__get start "$dir/launcher.start"
		if testhost__is_up "$name" || testhost__same_proc "$b" "$start"; then
			testhost__say "$name: a test host of that name is running"
			return 1
		fi
		testhost__say "$name: removing what a previous run left"
		testhost_teardown "$name" || return 1
	fi
	t0=$(date +%s%N)
	testhost__register_traps
	# mkdir is the claim on the name: two boots of one name cannot both pass it.
	if ! mkdir -m 0700 "$dir"; then
		testhost__say "$name: cannot create $dir"
		return 1
	fi
	TESTHOST__HOSTS="$TESTHOST__HOSTS $name"
	mkdir "$dir/fs"
	: >"$dir/log"
	# Kept with the host: its commands get what its units got.
	echo "${TESTHOST_ENV:-}" >"$dir/env"

	# One subtree NAME in every hierarchy; the host's PID 1 moves into it and
	# unshares its cgroup namespace there (boot-inner.sh).
	# Also NAME/testhost-run, where testhost_run puts its commands.
	testhost__cg_hierarchies >"$dir/cgroups"
	while read -r mp fstype _; do
		for d in "$mp/$name" "$mp/$name/testhost-run"; do
			mkdir -p "$d" || return 1
			if [ "$fstype" = cgroup ] && [ -f "$mp/cpuset.cpus" ]; then
				cat "$mp/cpuset.cpus" >"$d/cpuset.cpus"
				cat "$mp/cpuset.mems" >"$d/cpuset.mems"
			fi
		done
	done <"$dir/cgroups"
	# On cgroup v2 the host gets only the controllers the machine's root enables
	# for its children (its systemd enables those its units use): say which of
	# Vivarium's it lacks, since its limits on them then fail inside, far from
	# this cause.
	if [ -f /sys/fs/cgroup/cgroup.subtree_control ]; then
		lacking=""
		for c in cpu io memory pids; do
			grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || continue
			grep -qw "$c" /sys/fs/cgroup/cgroup.subtree_control || lacking+=" $c"
		done
		[ -z "$lacking" ] ||
			testhost__say "$name: the machine's root cgroup does not enable$lacking for its children (cgroup.subtree_control): no such limits inside"
	fi

	binds="$TESTHOST__TOP"
	[ -n "${VIVARIUM_BUILD_DIR:-}" ] && binds="$binds
$(readlink -f "$VIVARIUM_BUILD_DIR")"
	for b in ${TESTHOST_BIND:-}; do
		binds="$binds
$(readlink -f "$b")"
	done

	# The launcher: detached twice (not a job of the caller, so that a bare
	# "wait" in a test does not wait for it), in a session of its own. It stays
	# in the caller's cgroups; its child, PID 1 of the host, moves into NAME.
	b=$(
		(
			TH_NAME=$name TH_DIR=$dir TH_HOSTNAME=${name//_/-} \
				TH_BINDS=$binds TH_CAPS=$TESTHOST_DROP_CAPS \
				TH_MASK="$TESTHOST__MASK_DEFAULT ${TESTHOST_MASK:-}" TH_TRACE=${TESTHOST_TRACE:-} \
				TH_ENV=${TESTHOST_ENV:-} TH_TMPFS=${TESTHOST_TMPFS-/export /srv} \
				exec setsid unshare --pid --fork --kill-child --mount --uts --ipc --net \
				--propagation private -- /bin/bash "$TESTHOST__LIBDIR/boot-inner.sh"
		) </dev/null >>"$dir/log" 2>&1 &
		echo "$!"
	)
	echo "$b" >"$dir/launcher.pid"
	testhost__starttime "$b" >"$dir/launcher.start" 2>/dev/null || true

	# The watchdog, detached likewise, in its own session (survives killpg).
	b=$(
		(
			# shellcheck disable=SC2016
			exec setsid /bin/bash -c '. "$1"; testhost__watchdog "$2" "$3" "$4"' testhost-watchdog \
				"$TESTHOST__LIB" "$name" "$caller" "$(testhost__starttime "$caller")"
		) </dev/null >>"$dir/log" 2>&1 &
		echo "$!"
	)
	echo "$b" >"$dir/watchdog.pid"
	testhost__starttime "$b" >"$dir/watchdog.start" 2>/dev/null || true

	# boot-inner.sh writes the PID it has in this machine's PID namespace before
	# it execs systemd, so that PID is systemd, PID 1 of the host.
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/pid" ] && break
		testhost__get b "$dir/launcher.pid"
		testhost__get start "$dir/launcher.start"
		testhost__same_proc "$b" "$start" || break
		sleep 0.05
	done
	testhost__get pid "$dir/pid"
	if [ -z "$pid" ] || ! start=$(testhost__starttime "$pid"); then
		testhost__say "$name: the launcher failed; its log:"
		sed 's/^/  | /' "$dir/log" >&2
		testhost_teardown "$name"
		return 1
	fi
	echo "$start" >"$dir/pid.start"
	readlink "/proc/$pid/ns/pid" >"$dir/pidns"

	# Wait for systemd's private socket, then for the end of its boot.
	state=
	local deadline=$((SECONDS + timeout))
	while ((SECONDS < deadline)); do
		testhost__same_proc "$pid" "$start" || break
		# Only once PID 1 is systemd is its root the host's: before, /run
		# there may still be this machine's.
		if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */systemd ]] &&
			[ -S "/proc/$pid/root/run/systemd/private" ]; then
			state=$(timeout $((deadline - SECONDS + 1)) \
				env -i PATH="$TESTHOST__PATH" nsenter -t "$pid" -a \
				systemctl is-system-running --wait 2>/dev/null) || true
			case $state in running | degraded | maintenance | stopping | offline) break ;; esac
		fi
		sleep 0.05
	done
	case $state in
	running | degraded)
		# Published only now: before systemd runs, the host's mount namespace
		# still has this machine's root in it.
		TESTHOST_NAME=$name
		TESTHOST_PID=$pid
		TESTHOST_DIR=$dir
		testhost__say "$name: $state, PID 1 is $pid, booted in $((($(date +%s%N) - t0) / 1000000)) ms"
		if [ "$state" = degraded ]; then
			testhost__say "$name: failed units:"
			testhost_run systemctl --no-legend --failed >&2 || true
		fi
		return 0
		;;
	esac
	if testhost__same_proc "$pid" "$start"; then
		testhost__say "$name: did not finish booting within ${timeout}s (state: ${state:-unknown})"
	else
		testhost__say "$name: its PID 1 exited during boot"
	fi
	testhost__dump "$name"
	testhost_teardown "$name"
	return 1
}

# Prints what is known about a host that did not boot.
testhost__dump() { # NAME
	local dir=$TESTHOST__RUNDIR/testhost-$1 pid
	echo "--- launcher log ($dir/log)" >&2
	sed 's/^/  | /' "$dir/log" >&2
	testhost__get pid "$dir/pid" || return 0
	# Only once systemd runs is the host's root in place.
	testhost__is_up "$1" && [[ $(readlink "/proc/$pid/exe") == */systemd ]] || return 0
	echo "--- systemctl list-jobs" >&2
	testhost__run "$1" "$pid" systemctl --no-pager list-jobs 2>&1 | sed 's/^/  | /' >&2
	echo "--- systemctl --failed" >&2
	testhost__run "$1" "$pid" systemctl --no-pager --failed 2>&1 | sed 's/^/  | /' >&2
	echo "--- journal of the boot" >&2
	testhost__run "$1" "$pid" journalctl --no-pager -b -o short-monotonic 2>&1 | tail -n 200 | sed 's/^/  | /' >&2
}

# Runs CMD inside the current test host with a clean environment and cwd /;
# stdin, stdout and stderr pass through; returns CMD's exit status.
# The command joins the host's cgroup "testhost-run" in every hierarchy (moved
# before it enters the cgroup namespace), so its cgroup paths inside are sane.
testhost_run() { # CMD...
	if [ -z "${TESTHOST_PID:-}" ] || [ -z "${TESTHOST_NAME:-}" ]; then
		testhost__say "testhost_run: no test host is booted"
		return 1
	fi
	if [ $# -eq 0 ]; then
		testhost__say "usage: testhost_run CMD..."
		return 1
	fi
	testhost__run "$TESTHOST_NAME" "$TESTHOST_PID" "$@"
}

testhost__run() { # NAME PID CMD...
	local name=$1 pid=$2 extra
	shift 2
	testhost__get extra "$TESTHOST__RUNDIR/testhost-$name/env" || extra=
	(
		set +e
		while read -r mp _; do
			echo "$BASHPID" >"$mp/$name/testhost-run/cgroup.procs"
		done <"$TESTHOST__RUNDIR/testhost-$name/cgroups" 2>/dev/null
		# setns() into the mount namespace makes its root the root and cwd.
		# shellcheck disable=SC2086 # $extra: VAR=VALUE words, checked at boot
		exec env -i PATH="$TESTHOST__PATH" HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
			LANG=C.UTF-8 PAGER=cat SYSTEMD_PAGER=cat ${TERM:+TERM=$TERM} $extra \
			nsenter -t "$pid" -a -- \
			setpriv --bounding-set "-${TESTHOST_DROP_CAPS//,/,-}" -- "$@"
	)
}

# Installs the build in BUILD into the current test host (meson install, prefix
# as configured), then reloads systemd and the D-Bus daemon there.
# testhost_up NAME BUILD LOG: testhost_boot NAME and testhost_install BUILD
# (its output in LOG, shown on failure); a TAP "not ok 1" and exit 1 when
# either fails. For tests whose every check needs the installed host.
testhost_up() {
	if ! testhost_boot "$1"; then
		echo "not ok 1 - boot the test host"
		exit 1
	fi
	if ! testhost_install "$2" >"$3" 2>&1; then
		cat "$3" >&2
		echo "not ok 1 - install the build into the test host"
		exit 1
	fi
}

# testhost_manager_env VAR=VALUE...: vivariumd's environment in the current
# host (a runtime drop-in, replaced on each call), then daemon-reload; the
# manager started next has it.
testhost_manager_env() {
	testhost_run mkdir -p /run/systemd/system/vivariumd.service.d
	printf '[Service]\nEnvironment=%s\n' "$*" |
		testhost_run tee /run/systemd/system/vivariumd.service.d/test.conf >/dev/null
	testhost_run systemctl daemon-reload
}

testhost_install() { # BUILD
	local b
	if [ $# -ne 1 ]; then
		testhost__say "usage: testhost_install BUILDDIR"
		return 1
	fi
	b=$(readlink -f "$1") || b=
	if [ -z "$b" ] || [ ! -f "$b/meson-private/install.dat" ]; then
		testhost__say "testhost_install: $1 is not a configured meson build directory"
		return 1
	fi
	# One trip into the host. meson writes meson-logs/install-log.txt; the
	# build dir is read-only in the host, so that log goes to a tmpfs that only
	# the host sees.
	# shellcheck disable=SC2016
	testhost_run /bin/sh -c '
		b=$1
		say() { echo "testhost: testhost_install: $*" >&2; }
		if [ ! -f "$b/meson-private/install.dat" ]; then
			say "$b is not visible inside the host; put it in TESTHOST_BIND or VIVARIUM_BUILD_DIR before booting"
			exit 1
		fi
		if [ "$(findmnt -n -o FSTYPE -T "$b")" = overlay ]; then
			say "warning: $b is seen through the overlay, where files changed after the boot may be stale; put it in TESTHOST_BIND or VIVARIUM_BUILD_DIR before booting"
		fi
		mountpoint -q "$b/meson-logs" || mount -t tmpfs -o mode=0755 testhost-meson-logs "$b/meson-logs" || exit 1
		meson install -C "$b" --no-rebuild --quiet || { say "meson install failed"; exit 1; }
		systemctl daemon-reload || { say "systemctl daemon-reload failed"; exit 1; }
		busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig ||
			{ say "the D-Bus daemon did not reload its configuration"; exit 1; }
	' testhost-install "$b"
}

# Kills the host NAME (default: the current one) by its PID, removes its cgroups
# in every hierarchy and its state directory. Idempotent. Returns 1 if something
# could not be removed (and says what).
testhost_teardown() { # [NAME]
	local name=${1:-${TESTHOST_NAME:-}} dir pid start lpid lstart wpid wstart i mp d p rc=0
	local -a roots left
	[ -n "$name" ] || return 0
	dir=$TESTHOST__RUNDIR/testhost-$name

	# The watchdog goes last (below): a teardown cut short (the test shell
	# SIGKILLed by meson's timeout while it ran) is then finished by it;
	# killed first, the host's cgroups and state directory stayed behind.
	if [ -z "${TESTHOST__IN_WATCHDOG:-}" ]; then
		testhost__get wpid "$dir/watchdog.pid"
		testhost__get wstart "$dir/watchdog.start"
	fi
	testhost__get pid "$dir/pid"
	testhost__get start "$dir/pid.start"
	testhost__get lpid "$dir/launcher.pid"
	testhost__get lstart "$dir/launcher.start"
	# A kill of a process that ended since it was checked fails: "|| true",
	# or a caller under "set -e" (tools/try, bench/run) would end there, at
	# once and without a word (once in CI's VM: try's walk-through passed,
	# tools/try exited 1).
	# PID 1 first: the kernel then kills everything in its PID namespace, PID 1
	# turns zombie once that is empty, and the launcher (unshare) reaps it and
	# exits. The launcher is killed only if it lingers (or PID 1 never came):
	# killed first, it would leave PID 1 to this machine's init to reap.
	testhost__same_proc "$pid" "$start" && kill -9 "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		testhost__same_proc "$pid" "$start" any || break
		sleep 0.02
	done
	testhost__same_proc "$lpid" "$lstart" && kill -9 "$lpid" 2>/dev/null || true
	for ((i = 0; i < 250; i++)); do
		testhost__same_proc "$pid" "$start" any || testhost__same_proc "$lpid" "$lstart" || break
		sleep 0.02
	done

	# For tests/test-testhost.sh alone: stop here (PID 1 gone, the cgroups
	# and the state directory not yet) until this shell is killed, as meson's
	# timeout would kill it. A builtin read on a FIFO: no child outlives it.
	if [ -n "${TESTHOST__TEARDOWN_STALL:-}" ] && [ -z "${TESTHOST__IN_WATCHDOG:-}" ]; then
		mkfifo "$TESTHOST__TEARDOWN_STALL.fifo" && : >"$TESTHOST__TEARDOWN_STALL" &&
			read -r -t 600 _ <>"$TESTHOST__TEARDOWN_STALL.fifo"
	fi

	# Cgroups, deepest first, all hierarchies at once. A process may still be
	# draining out of them (an nsenter parent whose child just died); after
	# 2 s, kill what is left in them: anything there belongs to this host.
	roots=()
	while read -r mp _; do
		[ -d "$mp/$name" ] && roots+=("$mp/$name")
	done < <(cat "$dir/cgroups" 2>/dev/null || testhost__cg_hierarchies)
	for ((i = 0; ${#roots[@]} > 0 && i < 150; i++)); do
		find "${roots[@]}" -depth -type d -print0 2>/dev/null | xargs -0 -r rmdir 2>/dev/null
		left=()
		for d in "${roots[@]}"; do
			[ -d "$d" ] && left+=("$d")
		done
		roots=("${left[@]}")
		[ ${#roots[@]} = 0 ] && break
		if [ "$i" = 50 ]; then
			while read -r d; do
				while read -r p; do
					[ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
				done <"$d"
			done < <(find "${roots[@]}" -name cgroup.procs 2>/dev/null)
		fi
		sleep 0.04
	done
	if [ ${#roots[@]} != 0 ]; then
		testhost__say "$name: could not remove cgroups: $(find "${roots[@]}" -type d | tr '\n' ' ')"
		rc=1
	fi

	# The host's mounts lived in its own mount namespace, gone with it; the
	# state dir holds plain files. --one-file-system guards against surprises.
	if [ -d "$dir" ]; then
		rm -rf --one-file-system "$dir" 2>/dev/null || {
			testhost__say "$name: could not remove $dir"
			rc=1
		}
	fi
	# (it ends by itself within a second once the state dir is gone)
	testhost__same_proc "${wpid:-}" "${wstart:-}" && kill -9 "$wpid" 2>/dev/null || true
	left=()
	for d in $TESTHOST__HOSTS; do
		[ "$d" = "$name" ] || left+=("$d")
	done
	TESTHOST__HOSTS=${left[*]}
	if [ "$name" = "${TESTHOST_NAME:-}" ]; then
		TESTHOST_NAME=
		TESTHOST_PID=
		TESTHOST_DIR=
	fi
	return $rc
}
