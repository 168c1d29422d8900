# SPDX-License-Identifier: LGPL-2.1-or-later
# Counted checks of a command's exit status and output, for the vivctl tests;
# source it once $work (a scratch directory) is set.
#   check NAME RC STDOUT STDERR CMD...   CMD exits with RC and prints exactly
#                                        STDOUT and STDERR ("*": anything)
#   pass, fail MESSAGE                   a result known otherwise; fail prints
#                                        "FAIL: MESSAGE"
# $passed and $failures count the results.
# shellcheck shell=bash

passed=0
failures=0
pass() { passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

check() {
        local name=$1 want_rc=$2 want_out=$3 want_err=$4 out err rc
        shift 4
        out=$("$@" 2>"$work/stderr"); rc=$?
        err=$(<"$work/stderr")
        if [ "$rc" != "$want_rc" ]; then
                fail "$name: exit status $rc, expected $want_rc (stdout '$out', stderr '$err')"
        elif [ "$want_out" != "*" ] && [ "$out" != "$want_out" ]; then
                fail "$name: stdout '$out', expected '$want_out'"
        elif [ "$want_err" != "*" ] && [ "$err" != "$want_err" ]; then
                fail "$name: stderr '$err', expected '$want_err'"
        else
                pass
        fi
}
