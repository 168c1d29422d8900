# SPDX-License-Identifier: LGPL-2.1-or-later
# tools/test's bookkeeping of meson's results; source it (bash).
# shellcheck shell=bash
#
#   results_count BUILD_DIR   adds one run's results (meson-logs/testlog.json)
#   results_count_vm RC TESTLOG  adds a tests/vm/run.sh run: its exit status and
#                             the copy of its testlog.json; there a skip is a
#                             failure (the VM has everything), and a VM that did
#                             not boot (status 125) is counted apart, as a kernel
#                             lacking a feature is: no test ran
#   results_verdict           prints the closing line; returns 1 when a test
#                             failed, or when VIVARIUM_TESTS_MUST_RUN=1 and a test
#                             was skipped for any reason but a kernel feature on
#                             tests/lib/kernel-features.sh's list that the
#                             kernel lacks (checked again here, not taken on
#                             the test's word)

results__dir=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source=tests/lib/kernel-features.sh
. "$results__dir/kernel-features.sh"

results_passed=0
results_failed=0
results_skipped=0
results_kernel_skipped=0
results_kernel_lacking=""
results_vm_noboot=0

results_count() { # BUILD_DIR
	local p f s feature name why
	{
		read -r p f s
		results_passed=$((results_passed + p))
		results_failed=$((results_failed + f))
		results_skipped=$((results_skipped + s))
		while IFS=$'\t' read -r feature name; do
			if why=$(kernel_lacks "$feature"); then
				results_kernel_skipped=$((results_kernel_skipped + 1))
				case " $results_kernel_lacking " in
				*" $feature "*) ;;
				*) results_kernel_lacking+="$feature " ;;
				esac
				echo "== $name skipped: the kernel lacks $feature ($why)"
			else
				echo "== $name reported 'kernel lacks $feature', not accepted: $why" >&2
			fi
		done
	} < <(python3 "$results__dir/testlog-count.py" "$1/meson-logs/testlog.json")
}

results_count_vm() { # RC TESTLOG
	local p=0 f=0 s=0
	if [ "$1" = 125 ]; then
		results_vm_noboot=$((results_vm_noboot + 1))
		return 0
	fi
	if [ -s "$2" ]; then
		read -r p f s < <(python3 "$results__dir/testlog-count.py" "$2")
	fi
	# no log (timed out, harness failure) or a bad status without a failed test
	[ "$1" = 0 ] || [ $((f + s)) -gt 0 ] || f=1
	results_passed=$((results_passed + p))
	results_failed=$((results_failed + f + s))
}

results_verdict() {
	local rc=0 other=$((results_skipped - results_kernel_skipped)) line lacking
	[ "$results_failed" = 0 ] || rc=1
	if [ "$other" -gt 0 ] && [ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ]; then
		echo "error: $other test(s) skipped; VIVARIUM_TESTS_MUST_RUN=1 forbids skips but for a kernel feature on tests/lib/kernel-features.sh's list" >&2
		rc=1
	fi
	line="$results_passed passed, $results_failed failed, $results_skipped skipped"
	if [ "$results_kernel_skipped" -gt 0 ]; then
		lacking=${results_kernel_lacking% }
		lacking=${lacking// /, }
		if [ "$other" = 0 ]; then
			line+=" (kernel lacks: $lacking)"
		else
			line+=" ($results_kernel_skipped of them: kernel lacks: $lacking)"
		fi
	fi
	if [ "$results_vm_noboot" -gt 0 ]; then
		line+=" (the VM did not boot: its suites did not run)"
	fi
	echo "$line"
	return $rc
}
