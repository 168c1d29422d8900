# SPDX-License-Identifier: LGPL-2.1-or-later
# The attack suite's judge, shared by tests/test-security.sh (probe containers
# of every mode) and tests/test-full-os.sh (the probes as root inside a booted
# Debian); source it after tests/lib/check.sh.
#   security_probe_install PROBE DIR ROOT   DIR/security-probe and DIR/out (anyone
#                                           writes there); a sanitizer build's
#                                           libraries are copied into ROOT
#   security_capbnd HOST-CAPBND [privnet]   the CapBnd a container must show:
#                                           docs/helper.md's default set (with
#                                           net_admin for a private network),
#                                           less what the host's set lacks
#   security_judge MODE OUT CAPBND [OPEN...]  checks on the probe's output OUT
#   security_contained LEADER-PID           run on the host: every process of
#                                           LEADER's PID namespace is below
#                                           LEADER's scope (a cgroup escape is
#                                           judged where the host sees the PID)
# shellcheck shell=bash

# Probes every mode must have run: an attacker that silently skipped one
# proves nothing.
security_required_probes="core-pattern remount-proc-sys umount-proc-sys sysrq-trigger umount-proc-mask remount-sys
mount-setattr-proc-sys open-tree-clone fresh-proc fresh-proc-fsopen fresh-sysfs devtmpfs open-host-node mknod
cgroup-remount cgroup-own-limit userfaultfd io-uring shm-size ram-size victim-seccomp victim-socket"

security_probe_install() { # PROBE DIR ROOT
	local lib
	mkdir -p "$2/out" || return
	chmod 1777 "$2/out"
	cp "$1" "$2/security-probe" || return
	file -L "$2/security-probe" | grep -q 'statically linked' && return 0
	for lib in $(ldd "$2/security-probe" | grep -o '/[^ ]*'); do
		mkdir -p "$3${lib%/*}"
		cp -L "$lib" "$3$lib" || return
	done
}

security_capbnd() { # HOST-CAPBND [privnet]
	# audit_write chown dac_override dac_read_search fowner fsetid ipc_owner
	# kill lease linux_immutable net_bind_service net_broadcast net_raw
	# setfcap setgid setpcap setuid sys_admin sys_boot sys_chroot sys_nice
	# sys_ptrace sys_resource sys_tty_config (+ net_admin, bit 12)
	local set=0xb5ecafff
	[ "${2:-}" = privnet ] && set=$((set | 0x1000))
	printf '%016x' $((set & 0x$1))
}

# security_judge MODE OUT CAPBND [OPEN...]: every attack in OUT blocked but the
# OPEN ones, which must work (an opt-in of the XML); ANY among them: the other
# probes are not judged. Every required probe ran, CapBnd is CAPBND.
security_judge() {
	local mode=$1 out=$2 capbnd=$3 open unexpected= missing= p
	shift 3
	local expect_open=" $* "
	sed 's/^/#   /' "$out"
	check "$mode: the probes ran to the end" grep -q '^probes done$' "$out"
	for p in $expect_open; do
		[ "$p" = ANY ] && continue
		check "$mode: $p works, as the XML allows" grep -q "^probe $p: .*(OPEN)$" "$out"
	done
	if [[ $expect_open != *" ANY "* ]]; then
		open=$(grep '^probe .*(OPEN)$' "$out")
		while read -r _ p _; do
			[ -n "$p" ] && [[ $expect_open != *" ${p%:} "* ]] && unexpected="$unexpected ${p%:}"
		done <<<"$open"
		if [ -z "$unexpected" ]; then
			ok "$mode: every other attack was blocked ($(grep -c '^probe ' "$out") probes)"
		else
			not_ok "$mode: attacks that worked:$unexpected"
			echo "$open" | sed 's/^/#   /'
		fi
	fi
	for p in $security_required_probes; do
		grep -q "^probe $p: " "$out" || missing="$missing $p"
	done
	check "$mode: every probe ran${missing:+ (missing:$missing)}" test -z "$missing"
	check "$mode: CapBnd is the documented default set ($capbnd)" grep -q "^info CapBnd $capbnd " "$out"
}

# security_contained LEADER-PID: every process in the PID namespace of LEADER
# is, as this host sees it, below the scope LEADER is in, in each hierarchy
# where LEADER is in a scope; the ones that are not are printed. On cgroup2 a
# container may move its processes within its own tree (the probe's
# cgroup-escape leaves such a process behind): only the host sees whether that
# tree is below the container's scope.
security_contained() {
	local leader=$1 ns p id ctl path key bad=0
	local -A scope=()
	ns=$(readlink "/proc/$leader/ns/pid") || return 1
	while IFS=: read -r id ctl path; do
		# the first .scope component: a systemd inside makes its own below
		[[ $path == *.scope* ]] && scope[$id:$ctl]=${path%%.scope*}.scope
	done <"/proc/$leader/cgroup"
	[ ${#scope[@]} -gt 0 ] || { echo "#   $leader is in no scope"; return 1; }
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
		while IFS=: read -r id ctl path; do
			key=$id:$ctl
			[ -n "${scope[$key]:-}" ] || continue
			case $path in
			"${scope[$key]}" | "${scope[$key]}"/*) ;;
			*)
				echo "#   pid ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)) is in $path, outside ${scope[$key]}"
				bad=1
				;;
			esac
		done < <(cat "$p/cgroup" 2>/dev/null)
	done
	return $bad
}
