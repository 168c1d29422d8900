#!/bin/bash
# Runs Vivarium's meson tests inside a throwaway Debian 12 VM whose PID 1 is systemd
# on a pure cgroup v2 hierarchy and whose kernel has autofs: what this project's
# machines are not (hybrid cgroups, no systemd as PID 1, some kernels without autofs).
# tools/test runs it in CI (VIVARIUM_VM_TESTS; README.md, "Tests in a VM"): under
# qemu's TCG a run takes minutes.
#
#   tests/vm/run.sh [MESON-TEST-ARGS...]   default: autofs; e.g. "testhost manager",
#                                          "--suite integration"
#   tests/vm/run.sh --image                make (or reuse) the cached VM image only
#   tests/vm/run.sh --clean                delete the cache
#
# On the machine: builds the tree in VIVARIUM_VM_BUILD (default TOP/build-vm), makes or
# reuses the image (mmdebstrap; cached under /var/tmp/vivarium-vm, keyed by its
# package list and guest files), copies the tree (tracked and untracked files, not
# ignored ones) and the build dir onto a job disk, boots the VM (no network), and
# prints the job's output while it runs. Inside, the job (tests/vm/job.sh) binds the
# copies at their paths on this machine, so meson's absolute paths hold, and runs
# `meson test --no-rebuild --print-errorlogs ARGS` with VIVARIUM_TESTS_MUST_RUN=1.
# Then a table of the tests: result, seconds, ok/not ok lines. Exit status: 0 when
# every test passed (a skip is a failure here: the VM has everything), 1 when not,
# 124 when the VM timed out while the tests ran, 125 when the VM did not boot (its
# kernel never started the job: no test ran, a line "VM-DID-NOT-BOOT: why" says so;
# a guest kernel that panicked before the job is booted a second time first),
# 2 when the harness itself failed (build, image).
#
# Knobs: VIVARIUM_VM_ACCEL=auto|kvm|tcg (auto: kvm only with vmx/svm in
# /proc/cpuinfo), VIVARIUM_VM_MEM (MiB, 4096), VIVARIUM_VM_CPUS (2),
# VIVARIUM_VM_TIMEOUT (s, 7200), VIVARIUM_VM_BOOT_TIMEOUT (s until the job starts,
# 1200), VIVARIUM_VM_CACHE (/var/tmp/vivarium-vm),
# VIVARIUM_VM_APPEND (more kernel arguments: init=/bin/false makes it panic),
# VIVARIUM_VM_CGROUP=v2|hybrid (v2: systemd.unified_cgroup_hierarchy=1, the default;
# hybrid: =0, cgroup v1 controllers beside cgroup2 on /sys/fs/cgroup/unified),
# VIVARIUM_VM_DEADLINE=EPOCH-SECONDS (meson is stopped inside at that time: the tests
# it did not finish are rows NOT-RUN, failures; the VM then has 6 min to end),
# VIVARIUM_VM_TESTLOG=FILE (a copy of meson's testlog.json from inside, NOT-RUN rows
# added, for tools/test),
# VIVARIUM_VM_VERBOSE=1 (the kernel/systemd console on stderr too),
# VIVARIUM_VM_ENV="VAR=VALUE ..." (set for meson test inside, e.g. TESTHOST_TRACE=1).
# Inside, TESTHOST_BOOT_TIMEOUT is 1200, sd-bus calls in test hosts time out after
# 10 min (TESTHOST_ENV=SYSTEMD_BUS_TIMEOUT=10min) and meson's timeouts are multiplied
# by 10, and so are the tests' own bounds that read VIVARIUM_TEST_SLOWDOWN (10 there):
# under TCG, on a loaded machine, a test host boots in minutes, not in a second.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
top=$(cd "$here/../.." && pwd)
CACHE=${VIVARIUM_VM_CACHE:-/var/tmp/vivarium-vm}
BUILD=${VIVARIUM_VM_BUILD:-$top/build-vm}
SUITE=bookworm
ROOT_SIZE=4G

say() { printf 'vm: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

# shellcheck source=tools/deps.sh
. "$top/tools/deps.sh"

# The image: minbase plus tools/deps.sh's VIVARIUM_VM_GUEST_DEPS, only what the
# VM's suites need (its kernel from bookworm-backports). A change of the list
# makes a new image.
image_packages() {
	local IFS=,
	echo "${VIVARIUM_VM_GUEST_DEPS[*]}"
}
PKGS=$(image_packages)

# The guest's job runner, started at boot by vivarium-vm-job.service: mounts the job
# disk (label vivvmjob), runs its job.sh once the boot has finished, with the output on
# the second serial port (the machine's job.log), stores the status and powers off
# whatever happens.
read -r -d '' GUEST_RUNNER <<'SH' || true
#!/bin/bash
exec 2>&1
trap 'sync; systemctl poweroff --no-block' EXIT
J=/mnt/vm
mkdir -p $J
for i in $(seq 1 60); do blkid -L vivvmjob >/dev/null && break; sleep 1; done
mount LABEL=vivvmjob $J || { echo "vivarium-vm-job: no job disk"; exit 1; }
stty -F /dev/ttyS1 raw -echo 115200 2>/dev/null || true
state=$(systemctl is-system-running --wait 2>&1)
export HOME=/root VM_STATE=$state
cd $J
bash $J/job.sh </dev/null 2>&1 | tee $J/out/job.log >/dev/ttyS1
echo "${PIPESTATUS[0]}" >$J/out/rc
cd /
sync
umount $J
SH
# Type=simple: the unit counts as started at once, so the boot can finish while the
# job waits for it.
read -r -d '' GUEST_UNIT <<'UNIT' || true
[Unit]
Description=Vivarium VM test job
[Service]
Type=simple
ExecStart=/usr/local/sbin/vivarium-vm-job
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT

# The initramfs only has to find an ext4 root on virtio-blk: Debian's default
# (MODULES=most) copies thousands of modules, twice (the kernel's postinst and
# initramfs-tools' trigger), which took 13 of the image's 22 minutes here.
# Written before the packages are installed (mmdebstrap's essential hook);
# neither file is a conffile of initramfs-tools. crc32c: ext4 asks the crypto
# layer for it at mount time.
read -r -d '' INITRAMFS_CONF <<'CONF' || true
MODULES=list
CONF
read -r -d '' INITRAMFS_HOOK <<'HOOK' || true
#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_blk ext4 crc32c_generic
HOOK

KEY=$(printf '%s\n' "$SUITE" "$PKGS" "$ROOT_SIZE" "$GUEST_RUNNER" "$GUEST_UNIT" "$INITRAMFS_CONF" "$INITRAMFS_HOOK" |
	sha256sum | cut -c1-16)
IMG=$CACHE/img-$KEY

# qemu, mmdebstrap, e2fsprogs (mke2fs -d, debugfs): nothing is loop-mounted here.
host_tools() {
	deps_install "${VIVARIUM_VM_DEPS[@]}"
}

# apt sources of this machine, so the image comes from the same mirror, and
# bookworm-backports for the kernel (the list asks for it by release).
mirror_args() {
	local f src="deb http://deb.debian.org/debian $SUITE main"
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		if [ -s "$f" ] && grep -q '^[^#]*deb' "$f"; then
			src=$f
			break
		fi
	done
	echo "$src"
	echo "deb ${VIVARIUM_VM_BACKPORTS:-http://deb.debian.org/debian} $SUITE-backports main"
}

make_image() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	if [ -f "$IMG/.complete" ]; then
		exec 9>&-
		return 0
	fi
	local t0=$SECONDS tmp=$IMG.tmp.$$ R
	rm -rf "$IMG".tmp.*
	mkdir -p "$tmp"
	R=$tmp/rootfs
	say "building image $KEY (a few minutes; packages: $PKGS)"
	local -a mirrors
	mapfile -t mirrors < <(mirror_args)
	mkdir -p "$tmp/initramfs"
	printf '%s\n' "$INITRAMFS_CONF" >"$tmp/initramfs/vivarium-vm.conf"
	printf '%s\n' "$INITRAMFS_HOOK" >"$tmp/initramfs/vivarium-vm"
	if ! mmdebstrap --variant=minbase --include="$PKGS" \
		--essential-hook="mkdir -p \"\$1/etc/initramfs-tools/conf.d\" \"\$1/etc/initramfs-tools/hooks\"" \
		--essential-hook="copy-in $tmp/initramfs/vivarium-vm.conf /etc/initramfs-tools/conf.d" \
		--essential-hook="copy-in $tmp/initramfs/vivarium-vm /etc/initramfs-tools/hooks" \
		--essential-hook="chmod 755 \"\$1/etc/initramfs-tools/hooks/vivarium-vm\"" \
		"$SUITE" "$R" "${mirrors[@]}" \
		>"$tmp/mmdebstrap.log" 2>&1; then
		tail -20 "$tmp/mmdebstrap.log" >&2
		rm -rf "$R"
		die "mmdebstrap failed (log: $tmp/mmdebstrap.log)"
	fi
	rm -rf "$tmp/initramfs"
	echo vivarium-vm >"$R/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 vivarium-vm\n' >"$R/etc/hosts"
	echo '# the root is /dev/vda, given on the kernel command line' >"$R/etc/fstab"
	# A machine ID: not a first boot, so systemd-firstboot never asks anything.
	echo "$KEY$KEY" >"$R/etc/machine-id"
	printf '%s\n' "$GUEST_RUNNER" >"$R/usr/local/sbin/vivarium-vm-job"
	chmod 755 "$R/usr/local/sbin/vivarium-vm-job"
	printf '%s\n' "$GUEST_UNIT" >"$R/etc/systemd/system/vivarium-vm-job.service"
	mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/vivarium-vm-job.service \
		"$R/etc/systemd/system/multi-user.target.wants/vivarium-vm-job.service"
	ln -sf /dev/null "$R/etc/systemd/system/getty@.service"
	ln -sf /dev/null "$R/etc/systemd/system/serial-getty@.service"
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	chroot "$R" dpkg-query -W -f '${Package} ${Version}\n' >"$tmp/packages"
	local v
	v=$(cd "$R/boot" && echo vmlinuz-*)
	v=${v#vmlinuz-}
	cp -L "$R/boot/vmlinuz-$v" "$tmp/vmlinuz"
	cp -L "$R/boot/initrd.img-$v" "$tmp/initrd.img"
	truncate -s "$ROOT_SIZE" "$tmp/root.img"
	mke2fs -q -t ext4 -L vivvmroot -d "$R" "$tmp/root.img"
	rm -rf "$R"
	touch "$tmp/.complete"
	mv "$tmp" "$IMG"
	exec 9>&-
	say "image built in $((SECONDS - t0)) s: $IMG"
}

# An ext4 image of DIR, sparse: twice its content plus 1 GiB of room for the tests.
disk_image() { # DIR IMAGE LABEL
	local kb
	kb=$(du -sk "$1" | cut -f1)
	truncate -s "$((kb * 2 / 1024 + 1024))M" "$2"
	mke2fs -q -t ext4 -L "$3" -d "$1" "$2"
}

cgroup_arg() {
	case ${VIVARIUM_VM_CGROUP:-v2} in
	v2) echo "systemd.unified_cgroup_hierarchy=1" ;;
	hybrid) echo "systemd.unified_cgroup_hierarchy=0" ;;
	*) die "VIVARIUM_VM_CGROUP must be v2 or hybrid" ;;
	esac
}

accel_args() {
	local a=${VIVARIUM_VM_ACCEL:-auto}
	if [ "$a" = auto ]; then
		if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then a=kvm; else a=tcg; fi
	fi
	case $a in
	kvm) echo "-accel kvm -cpu host" ;;
	tcg) echo "-accel tcg -cpu max" ;;
	*) die "VIVARIUM_VM_ACCEL must be auto, kvm or tcg" ;;
	esac
}

QEMU_PID='' TAIL_PID='' CTAIL_PID=''
stop_children() { # by PID, what this script started
	local p
	for p in $QEMU_PID $TAIL_PID $CTAIL_PID; do
		kill "$p" 2>/dev/null || true
	done
}

RUN='' STAGE='' VM_PANICKED=0
run_vm() { # MESON-TEST-ARGS...
	local t0=$SECONDS run stage rc qrc=0 accel cgroup booted=0 boot_expired=0 deadline why
	say "building $BUILD"
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$top" --buildtype=debugoptimized -Dwerror=false >/dev/null
	fi
	ninja -C "$BUILD" >/dev/null
	make_image
	mkdir -p "$CACHE/runs"
	run=$(mktemp -d "$CACHE/runs/$(date +%Y%m%d-%H%M%S)-XXXX")
	stage=$run/disk
	RUN=$run STAGE=$stage
	trap 'stop_children; rm -rf "$STAGE"; rm -f "$RUN"/*.img' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$stage/src" "$stage/build" "$stage/out"
	# Test names in VIVARIUM_VM_PENDING (tests other branches add) that this tree
	# does not define yet are left out with a line saying so; any other unknown
	# name stays, and meson fails on it.
	local a known=() pending=" ${VIVARIUM_VM_PENDING:-} "
	mapfile -t known < <(meson test -C "$BUILD" --no-rebuild --list 2>/dev/null | sed 's|.* / ||')
	for a in "$@"; do
		shift
		if [[ $pending == *" $a "* ]] && [[ " ${known[*]} " != *" $a "* ]]; then
			say "$a: no such test in this tree yet (pending in VIVARIUM_VM_PENDING), not run"
			continue
		fi
		set -- "$@" "$a"
	done
	# full-os boots tools/mkroot's root, which the VM (no network) cannot build:
	# it is made (or found in its cache) here and carried in; the job copies it
	# to the same cache path inside, where tools/mkroot finds it.
	if [[ " $* " == *" full-os"* ]]; then
		local root
		root=$("$top/tools/mkroot") || die "tools/mkroot failed (full-os needs its root)"
		mkdir -p "$stage/roots"
		cp -a "$root" "$stage/roots/"
	fi
	git -C "$top" ls-files -z -co --exclude-standard |
		tar -C "$top" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$stage/src" -xf -
	cp -a "$BUILD/." "$stage/build/"
	cp "$here/job.sh" "$stage/job.sh"
	# The names asked for: the summary names those without a result.
	printf '%s\n' "$@" >"$run/requested"
	{
		printf 'VM_SRC=%q\nVM_BUILD=%q\nVM_ARGS=(' "$top" "$(readlink -f "$BUILD")"
		printf '%q ' "$@"
		printf ')\nVM_ENV=%q\nVM_DEADLINE=%q\n' "${VIVARIUM_VM_ENV:-}" "${VIVARIUM_VM_DEADLINE:-}"
	} >"$stage/env"
	disk_image "$stage" "$run/job.img" vivvmjob
	rm -rf "$stage"
	: >"$run/console.log"
	: >"$run/job.log"
	accel=$(accel_args)
	cgroup=$(cgroup_arg)
	# A deadline bounds the whole VM: the job stops meson at it, and the VM gets
	# six more minutes to let the interrupted tests clean up and power off.
	local vm_timeout=${VIVARIUM_VM_TIMEOUT:-7200} boot_timeout=${VIVARIUM_VM_BOOT_TIMEOUT:-1200} left boot_cut=0
	if [ -n "${VIVARIUM_VM_DEADLINE:-}" ]; then
		left=$((VIVARIUM_VM_DEADLINE - $(date +%s)))
		[ "$left" -gt 0 ] || left=1
		[ $((left + 360)) -ge "$vm_timeout" ] || vm_timeout=$((left + 360))
		[ "$left" -ge "$boot_timeout" ] || boot_timeout=$left boot_cut=1
		say "deadline $(date -u -d "@$VIVARIUM_VM_DEADLINE" +%H:%M:%S) UTC: $left s for the tests"
	fi
	say "booting ($accel, $cgroup; run dir $run)"
	# no_timer_check: on a loaded machine a TCG CPU is too slow for the kernel's
	# check of the IO-APIC timer, which then panics ("IO-APIC + timer doesn't
	# work", seen at load 45 with -smp 1); qemu's timer is known to work.
	# ttyS0: kernel and systemd console; ttyS1: the job's output. TMPDIR: where qemu
	# keeps the overlay of the root image (snapshot=on: the cached image stays as is).
	# shellcheck disable=SC2086
	TMPDIR=$run timeout -k 10 "$vm_timeout" \
		qemu-system-x86_64 -name vivarium-vm $accel -m "${VIVARIUM_VM_MEM:-4096}" \
		-smp "${VIVARIUM_VM_CPUS:-2}" -display none -monitor none -nic none -no-reboot \
		-serial "file:$run/console.log" -serial "file:$run/job.log" \
		-kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 $cgroup panic=-1 mitigations=off no_timer_check${VIVARIUM_VM_APPEND:+ $VIVARIUM_VM_APPEND}" \
		-drive "file=$IMG/root.img,if=virtio,format=raw,snapshot=on" \
		-drive "file=$run/job.img,if=virtio,format=raw" \
		</dev/null >"$run/qemu.log" 2>&1 &
	QEMU_PID=$!
	tail -n +1 -f --pid=$QEMU_PID "$run/job.log" &
	TAIL_PID=$!
	if [ "${VIVARIUM_VM_VERBOSE:-0}" = 1 ]; then
		tail -n +1 -f --pid=$QEMU_PID "$run/console.log" >&2 &
		CTAIL_PID=$!
	fi
	# Booted: the job has written its first line (job.sh's "vm: kernel ..."). A VM
	# that does not get there in time is stopped: no test ran.
	deadline=$((SECONDS + boot_timeout))
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		if [ -s "$run/job.log" ]; then
			booted=1
			break
		fi
		if [ $SECONDS -ge "$deadline" ]; then
			boot_expired=1
			kill "$QEMU_PID" 2>/dev/null || true
			break
		fi
		sleep 2
	done
	[ -s "$run/job.log" ] && booted=1
	wait "$QEMU_PID" || qrc=$?
	wait "$TAIL_PID" 2>/dev/null || true
	[ -z "$CTAIL_PID" ] || wait "$CTAIL_PID" 2>/dev/null || true
	QEMU_PID='' TAIL_PID='' CTAIL_PID=''
	# out/ comes back without a mount.
	debugfs -R "rdump /out $run" "$run/job.img" >/dev/null 2>&1 || true
	rm -f "$run/job.img"
	echo
	if [ -f "$run/out/rc" ]; then
		rc=$(cat "$run/out/rc")
	elif [ $booted = 0 ] && [ $boot_expired = 1 ] && [ $boot_cut = 1 ]; then
		# The deadline came first: the tests did not run, and that is a failure.
		say "DEADLINE: the VM had not started the job when the deadline came"
		rc=124
	elif [ $booted = 0 ]; then
		# No test ran: the kernel, the image or qemu, not Vivarium.
		why=$(grep -a -m1 -o 'Kernel panic.*' "$run/console.log" | tr -d '\r' || true)
		[ -z "$why" ] || VM_PANICKED=1
		if [ -z "$why" ] && [ $boot_expired = 0 ]; then
			why="the VM stopped (qemu status $qrc) before the job started"
		fi
		echo "VM-DID-NOT-BOOT: ${why:-the job did not start within $boot_timeout s} (console: $run/console.log)"
		tail -30 "$run/console.log" >&2
		cat "$run/qemu.log" >&2
		rc=125
	elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		say "the VM timed out after $vm_timeout s; console tail:"
		tail -30 "$run/console.log" >&2
		rc=124
	else
		say "the VM stopped (qemu status $qrc) without a job status; console tail:"
		tail -30 "$run/console.log" >&2
		cat "$run/qemu.log" >&2
		rc=125
	fi
	# Tests asked for without a result are rows NOT-RUN, failures, in the table
	# and in the copy for tools/test.
	if [ -f "$run/out/testlog.json" ] || [ "$rc" != 125 ]; then
		python3 "$here/summary.py" "$run/out/testlog.json" "$run/requested" \
			"${VIVARIUM_VM_TESTLOG:-/dev/null}" || { [ "$rc" != 0 ] || rc=1; }
	fi
	say "exit status $rc; $((SECONDS - t0)) s in all; logs in $run"
	# Keep the newest five runs' logs (their names begin with the date); a run
	# dir with its job.img is a VM still running beside this one (the image is
	# removed once its results are out): left alone, or that run loses them,
	# unless the image was not written for three hours (longer than a VM may
	# run: a run killed before it removed its image).
	find "$CACHE/runs" -mindepth 1 -maxdepth 1 -type d | sort -r | tail -n +6 |
		while read -r d; do
			[ -e "$d/job.img" ] && [ -z "$(find "$d/job.img" -mmin +180)" ] || rm -rf "$d"
		done
	return "$rc"
}

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot)"
case ${1:-} in
--image) host_tools; make_image ;;
--clean) rm -rf "$CACHE" ;;
-h | --help) sed -n '2,39p' "$0" >&2 ;;
*)
	host_tools
	[ $# -gt 0 ] || set -- autofs
	# A guest kernel that panics before the job starts ran no test: it is
	# booted once more. Seen once in CI's VM (TCG): an int3 Oops in
	# put_prev_entity, code the guest kernel was patching, 74 s into the boot.
	rc=0
	run_vm "$@" || rc=$?
	if [ "$rc" = 125 ] && [ "$VM_PANICKED" = 1 ]; then
		say "the guest kernel panicked before the job started: booting once more"
		VM_PANICKED=0 rc=0
		run_vm "$@" || rc=$?
	fi
	exit "$rc"
	;;
esac
