#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The kernel-feature skip (tests/lib/kernel-features.sh) and tools/test's
# bookkeeping of it (tests/lib/results.sh): a skip for a listed feature that
# the kernel lacks is counted apart and accepted in CI; a skip for an unlisted
# feature, for a feature the kernel has, or for any other reason fails in CI.
set -uo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
work=$(mktemp -d /tmp/vt-kf.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A listed feature "absent" whose check always finds it missing, and one
# "present" the kernel always has: stand-ins for autofs on either kind of kernel.
stub_features() {
	# shellcheck source=tests/lib/results.sh
	. "$here/lib/results.sh"
	KERNEL_FEATURES=(absent present)
	kernel_has_absent() { echo "no absent here"; return 1; }
	kernel_has_present() { return 0; }
}

out=$( (stub_features; kernel_require present; echo continued) 2>&1); rc=$?
check "kernel_require returns when the kernel has the feature" [ "$rc" = 0 ] && [ "$out" = continued ]
out=$( (stub_features; kernel_require absent; echo continued) 2>&1); rc=$?
check "kernel_require exits 77 when the kernel lacks it" [ "$rc" = 77 ]
check "... and says which feature and why" [ "$out" = "KERNEL-LACKS: absent: no absent here" ]
out=$( (stub_features; kernel_require warp-drive) 2>&1); rc=$?
check "kernel_require of an unlisted feature fails the test" [ "$rc" = 1 ]
check "... naming the list" grep -q "not a listed kernel feature" <<<"$out"
(. "$here/lib/kernel-features.sh"; kernel_has_autofs >/dev/null); has=$?
# after the check (which may load the module), its answer is what the kernel says
if grep -qw autofs /proc/filesystems; then in_proc=0; else in_proc=1; fi
check "kernel_has_autofs agrees with /proc/filesystems ($has, $in_proc)" [ "$has" = "$in_proc" ]
(. "$here/lib/kernel-features.sh"; kernel_has_nbd >/dev/null); has=$?
if [ -d /sys/module/nbd ]; then in_sys=0; else in_sys=1; fi
check "kernel_has_nbd agrees with /sys/module/nbd ($has, $in_sys)" [ "$has" = "$in_sys" ]

# a meson JSON log with one test of each kind
testlog() { # LINE...
	mkdir -p "$work/$1/meson-logs"
	local dir=$1
	shift
	printf '%s\n' "$@" >"$work/$dir/meson-logs/testlog.json"
}
ok_t='{"name": "a", "result": "OK", "stdout": ""}'
fail_t='{"name": "b", "result": "FAIL", "stdout": "not ok 1"}'
kskip='{"name": "c", "result": "SKIP", "stdout": "KERNEL-LACKS: absent: no absent here\n"}'
kskip_present='{"name": "d", "result": "SKIP", "stdout": "KERNEL-LACKS: present: it said so\n"}'
kskip_unlisted='{"name": "e", "result": "SKIP", "stdout": "KERNEL-LACKS: warp-drive: none\n"}'
plain_skip='{"name": "f", "result": "SKIP", "stdout": "SKIP: needs root\n"}'

verdict() { # MUST_RUN DIR...: the closing line; its status in $work/rc
	local must=$1 d
	shift
	(
		stub_features
		for d in "$@"; do results_count "$work/$d" >/dev/null 2>&1; done
		VIVARIUM_TESTS_MUST_RUN=$must results_verdict 2>/dev/null
		echo $? >"$work/rc"
	)
}
testlog good "$ok_t" "$kskip"
out=$(verdict 1 good)
check "a listed feature the kernel lacks: counted apart ($out)" [ "$out" = "1 passed, 0 failed, 1 skipped (kernel lacks: absent)" ]
check "... and accepted in CI" [ "$(cat "$work/rc")" = 0 ]
testlog two "$ok_t" "$kskip"
out=$(verdict 1 good two)
check "two runs with the same feature name it once ($out)" [ "$out" = "2 passed, 0 failed, 2 skipped (kernel lacks: absent)" ]
testlog plain "$ok_t" "$plain_skip"
out=$(verdict 1 plain)
check "any other skip fails in CI ($out)" [ "$(cat "$work/rc")" = 1 ]
out=$(verdict 0 plain)
check "... and not outside CI" [ "$(cat "$work/rc")" = 0 ]
testlog present "$ok_t" "$kskip_present"
out=$(verdict 1 present)
check "a skip for a feature the kernel has is not accepted ($out)" [ "$(cat "$work/rc")" = 1 ]
check "... nor counted as a kernel skip" [ "$out" = "1 passed, 0 failed, 1 skipped" ]
testlog unlisted "$ok_t" "$kskip_unlisted"
out=$(verdict 1 unlisted)
check "a skip for an unlisted feature is not accepted" [ "$(cat "$work/rc")" = 1 ]
testlog mixed "$kskip" "$plain_skip"
out=$(verdict 0 mixed)
check "kernel skips among others are named apart ($out)" [ "$out" = "0 passed, 0 failed, 2 skipped (1 of them: kernel lacks: absent)" ]
testlog failed "$ok_t" "$fail_t" "$kskip"
out=$(verdict 1 failed)
check "a failure fails whatever the skips ($out)" [ "$(cat "$work/rc")" = 1 ]

# tests/vm/run.sh's runs (results_count_vm RC TESTLOG): a skip there is a failure,
# a VM that did not boot is counted apart
vm_verdict() { # RC DIR: as verdict, for one VM run whose log is DIR's
	(
		stub_features
		results_count_vm "$1" "$work/$2/meson-logs/testlog.json" >/dev/null 2>&1
		VIVARIUM_TESTS_MUST_RUN=1 results_verdict 2>/dev/null
		echo $? >"$work/rc"
	)
}
testlog vmok "$ok_t" "$ok_t"
out=$(vm_verdict 0 vmok)
check "a VM run that passed counts its tests ($out)" [ "$out" = "2 passed, 0 failed, 0 skipped" ]
check "... and passes" [ "$(cat "$work/rc")" = 0 ]
testlog vmskip "$ok_t" "$kskip"
out=$(vm_verdict 1 vmskip)
check "a skip in the VM, even a kernel one, is a failure ($out)" [ "$out" = "1 passed, 1 failed, 0 skipped" ]
check "... and fails" [ "$(cat "$work/rc")" = 1 ]
out=$(vm_verdict 124 nolog)
check "a VM run without a log (timed out) is a failure ($out)" [ "$out" = "0 passed, 1 failed, 0 skipped" ]
out=$(vm_verdict 125 nolog)
check "a VM that did not boot is counted apart ($out)" [ "$out" = "0 passed, 0 failed, 0 skipped (the VM did not boot: its suites did not run)" ]
check "... and accepted, as a kernel that lacks a feature" [ "$(cat "$work/rc")" = 0 ]

echo "1..$n"
[ "$failures" = 0 ]
