#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the programs on the way of a container start link: vivctl and
# vivarium-helper must not pull libxml2 (and with it ICU and libstdc++) at
# start-up; they load the parsers from vivarium-xml.so when they read XML
# (src/shared/xml-module.h). The module exports one symbol and is found
# through the programs' RUNPATH in the build directory, at its installed path
# once installed. The helper links libnl and libseccomp in (no NEEDED of
# theirs; their code its own). Run by meson with the build directory.
set -u
build=${VIVARIUM_BUILD_DIR:?}
failures=0 passed=0
pass() { passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

command -v readelf >/dev/null || { echo "FAIL: readelf (binutils) is not installed"; exit 1; }
module=$build/src/shared/vivarium-xml.so

for prog in src/ctl/vivctl src/helper/vivarium-helper; do
        dyn=$(readelf -d "$build/$prog") || { fail "$prog: readelf failed"; continue; }
        needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn")
        if grep -Eq '^lib(xml2|icu|stdc\+\+)' <<<"$needed"; then
                fail "$prog links $(grep -E '^lib(xml2|icu|stdc\+\+)' <<<"$needed" | tr '\n' ' ')"
        else
                pass
        fi
        grep -q 'libsystemd' <<<"$needed" && pass || fail "$prog: no NEEDED libsystemd: the check reads nothing"
        if grep -q "(RUNPATH).*\[$build/src/shared[]:]" <<<"$dyn"; then
                pass
        else
                fail "$prog: RUNPATH does not name $build/src/shared: $(grep -E 'RUNPATH|RPATH' <<<"$dyn")"
        fi
done

# The helper links libnl-3, libnl-route-3 and libseccomp in (src/helper/
# meson.build, issue 14): three shared objects fewer at each start's exec.
helper_needed=$(readelf -d "$build/src/helper/vivarium-helper" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if grep -Eq '^lib(nl-3|nl-route-3|seccomp)\.so' <<<"$helper_needed"; then
        fail "vivarium-helper links $(grep -E '^lib(nl-3|nl-route-3|seccomp)\.so' <<<"$helper_needed" | tr '\n' ' ')shared"
else
        pass
fi
if nm --defined-only "$build/src/helper/vivarium-helper" 2>/dev/null | grep -q ' T rtnl_link_alloc$'; then
        pass
else
        fail "vivarium-helper has no libnl-route code of its own (rtnl_link_alloc): the check reads nothing"
fi

# Installed, the programs have no RUNPATH (it would make the loader look in
# the module's directory first for every library they link) and find the
# module at its installed path.
dest=$(mktemp -d "${TMPDIR:-/tmp}/vt-linkage.XXXXXX")
trap 'rm -rf "$dest"' EXIT
if meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null 2>&1; then
        n=0
        for f in "$dest"/usr/bin/vivctl "$dest"/usr/libexec/vivarium/vivarium-helper; do
                n=$((n + 1))
                readelf -d "$f" | grep -Eq '\((RUNPATH|RPATH)\)' && fail "installed $f has a RUNPATH" || pass
        done
        [ "$n" = 2 ] && [ -x "$dest/usr/libexec/vivarium/vivarium-helper" ] && pass || fail "installed programs not found in $dest"
        [ -n "$(find "$dest" -name vivarium-xml.so -path '*/vivarium/*')" ] && pass ||
                fail "vivarium-xml.so is not installed into a vivarium/ library directory"
else
        fail "meson install --destdir failed"
fi

for prog in src/manager/vivariumd; do
        readelf -d "$build/$prog" | grep -q '(NEEDED).*libxml2' && pass ||
                fail "$prog does not link libxml2: the daemon parses every definition itself"
done

exports=$(nm -D --defined-only "$module" | awk '{ print $3 }' | sort | tr '\n' ' ')
[ "$exports" = "vivarium_xml_module " ] && pass || fail "vivarium-xml.so exports '$exports', not vivarium_xml_module alone"
readelf -d "$module" | grep -q '(NEEDED).*libxml2' && pass || fail "vivarium-xml.so does not link libxml2"

echo "linkage: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
