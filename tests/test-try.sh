#!/bin/bash
# tools/try, the README's first command, run as a test: the seed's walk-through
# in a throwaway test host, with the build under test.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
        [ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ] && { echo "test-try: needs root and unshare"; exit 1; }
        exit 77
fi
exec "$top/tools/try"
