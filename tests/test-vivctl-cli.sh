#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vivctl without a daemon: options, help, URIs, messages, offline validate.
# Runs anywhere, no root, no bus.
#
#   test-vivctl-cli.sh [PATH-TO-VIVCTL]
set -u

VIVCTL=$(readlink -f "${1:-${VIVARIUM_BUILD_DIR:-build}/src/ctl/vivctl}")
SRC=$(readlink -f "${VIVARIUM_SOURCE_DIR:-$(dirname "$0")/..}")
if [ ! -x "$VIVCTL" ]; then
        echo "FAIL: no vivctl at '$VIVCTL'" >&2
        exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/test-vivctl-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/lib/check-output.sh
. "$(dirname "$(readlink -f "$0")")/lib/check-output.sh"

# Never reach a bus, whatever the caller's environment says: an unreachable
# address makes any accidental connection fail loudly instead.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/no-such-bus
unset LIBVIRT_DEFAULT_URI VIVARIUM_DEFAULT_URI

# check_grep NAME EXPECTED-RC REGEX CMD...: some line of stdout+stderr matches
check_grep() {
        local name=$1 want_rc=$2 rx=$3 out rc
        shift 3
        out=$("$@" 2>&1); rc=$?
        if [ "$rc" != "$want_rc" ]; then
                fail "$name: exit status $rc, expected $want_rc (output '$out')"
                return
        fi
        if ! grep -Eq -- "$rx" <<<"$out"; then
                fail "$name: no line matches /$rx/ in '$out'"
                return
        fi
        pass
}

# --- help and version ---------------------------------------------------------
check_grep "--help" 0 '^ *start +start a \(previously defined\) inactive domain$' "$VIVCTL" --help
check_grep "-h" 0 'Domain Management' "$VIVCTL" -h
check_grep "help" 0 '^ *console +connect to the guest console$' "$VIVCTL" help
check_grep "help start" 0 '^    start - start a \(previously defined\) inactive domain$' "$VIVCTL" help start
check_grep "help start: synopsis" 0 '^    start <domain> \[--console\]' "$VIVCTL" help start
check_grep "start --help" 0 '^  SYNOPSIS$' "$VIVCTL" start --help
check_grep "help domain (group)" 0 '^ *dumpxml +domain information in XML$' "$VIVCTL" help domain
check_grep "help monitor (group)" 0 "^ *dominfo +domain information$" "$VIVCTL" help monitor
check "help nosuch" 1 "" "error: command or command group 'nosuch' doesn't exist" "$VIVCTL" help nosuch
check_grep "--version" 0 '^[0-9]+\.[0-9]+\.[0-9]+$' "$VIVCTL" --version
for verb in define undefine create start destroy shutdown list dominfo domstate domuuid \
        domname domid dumpxml console validate uri help reboot suspend resume autostart setmem \
        schedinfo event domiflist version; do
        check_grep "$verb --help" 0 "^    $verb - " "$VIVCTL" "$verb" --help
done

# --- URIs ---------------------------------------------------------------------
check "uri (default)" 0 "vivarium:///system" "" "$VIVCTL" uri
check "-c lxc:/// uri" 0 "lxc:///" "" "$VIVCTL" -c lxc:/// uri
check "--connect lxc:///system uri" 0 "lxc:///system" "" "$VIVCTL" --connect lxc:///system uri
check "--connect=vivarium:///system uri" 0 "vivarium:///system" "" "$VIVCTL" --connect=vivarium:///system uri
check "LIBVIRT_DEFAULT_URI=lxc:/// uri" 0 "lxc:///" "" env LIBVIRT_DEFAULT_URI=lxc:/// "$VIVCTL" uri
check "LIBVIRT_DEFAULT_URI=qemu:///system is not ours" 0 "vivarium:///system" "" \
        env LIBVIRT_DEFAULT_URI=qemu:///system "$VIVCTL" uri
check "VIVARIUM_DEFAULT_URI wins" 0 "vivarium:///system" "" \
        env VIVARIUM_DEFAULT_URI=vivarium:///system LIBVIRT_DEFAULT_URI=lxc:/// "$VIVCTL" uri
check "-c wins over the environment" 0 "lxc:///" "" \
        env VIVARIUM_DEFAULT_URI=vivarium:///system "$VIVCTL" -c lxc:/// uri
check "unknown URI" 1 "" "error: failed to connect to the hypervisor
error: no connection driver available for URI 'qemu:///system'" "$VIVCTL" -c qemu:///system uri
check "unknown URI from VIVARIUM_DEFAULT_URI" 1 "" "error: failed to connect to the hypervisor
error: no connection driver available for URI 'xen:///'" env VIVARIUM_DEFAULT_URI=xen:/// "$VIVCTL" list

# --- usage errors ---------------------------------------------------------------
check "unknown verb" 1 "" "error: unknown command: 'frobnicate'" "$VIVCTL" frobnicate
check "missing argument" 1 "" "error: command 'start' requires <domain> option" "$VIVCTL" start
check "unknown option" 1 "" "error: command 'start' doesn't support option --bogus" "$VIVCTL" start --bogus x
check "extra argument" 1 "" "error: unexpected data 'two'" "$VIVCTL" start one two
check "define: missing file" 1 "" "error: Failed to open file '$work/nope.xml': No such file or directory" \
        "$VIVCTL" define "$work/nope.xml"

# --- no daemon: a connection error, virsh style -----------------------------------
check_grep "list without a bus" 1 '^error: failed to connect to the hypervisor$' "$VIVCTL" list

# --- validate: the seed's documents, verbatim --------------------------------------
if "$VIVCTL" help validate >/dev/null 2>&1; then
        mkdir -p "$work/seed"
        cd "$work/seed" || exit 1

        cat >helloworld.xml <<'EOF'
<domain type='lxc'>
<name>helloworld</name>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
</os>
<devices>
<console type='pty'/>
</devices>
</domain>
EOF
        cat >helloworld-mounts.xml <<'EOF'
<domain type='lxc'>
<name>helloworld</name>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
</os>
<devices>
<console type='pty'/>
<filesystem type='mount'>
<source dir='/export/helloworld/config'/>
<target dir='/etc/httpd'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/data'/>
<target dir='/var/www'/>
</filesystem>
</devices>
</domain>
EOF
        cat >helloworld-root.xml <<'EOF'
<domain type='lxc'>
<name>helloworld</name>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
</os>
<devices>
<console type='pty'/>
<filesystem type='mount'>
<source dir='/export/helloworld/root'/>
<target dir='/'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/config'/>
<target dir='/etc/httpd'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/data'/>
<target dir='/var/www'/>
</filesystem>
</devices>
</domain>
EOF
        cat >helloworld-final.xml <<'EOF'
<domain type='lxc'>
<name>helloworld</name>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
</os>
<devices>
<console type='pty'/>
<filesystem type='mount'>
<source dir='/export/helloworld/root'/>
<target dir='/'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/config'/>
<target dir='/etc/httpd'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/data'/>
<target dir='/var/www'/>
</filesystem>
<interface type='network'>
<source network='default'/>
</interface>
</devices>
</domain>
EOF
        # The seed's interface snippet with a MAC, in the simple document.
        sed 's|</devices>|<interface type='"'"'network'"'"'>\n<mac address='"'"'52:54:00:4d:2b:cd'"'"'/>\n<source network='"'"'default'"'"'/>\n</interface>\n</devices>|' \
                helloworld.xml >helloworld-net.xml

        for f in helloworld.xml helloworld-mounts.xml helloworld-root.xml helloworld-final.xml helloworld-net.xml; do
                check "validate $f" 0 "$f validates" "*" "$VIVCTL" validate "$f"
        done
        check "validate: several files" 0 "helloworld.xml validates
helloworld-root.xml validates" "*" "$VIVCTL" validate helloworld.xml helloworld-root.xml
        check "validate --file" 0 "helloworld.xml validates" "*" "$VIVCTL" validate --file helloworld.xml

        # Broken documents: the error names the file and a position, exit 1.
        printf "<domain type='lxc'>\n<name>broken</name>\n<memory>1024</memory>\n<os>\n<type>exe</type>\n</domain>\n" >malformed.xml
        check_grep "validate: malformed" 1 '^error: malformed\.xml:[0-9]+(:[0-9]+)?: ' "$VIVCTL" validate malformed.xml
        cat >no-init.xml <<'EOF'
<domain type='lxc'>
<name>noinit</name>
<memory>102400</memory>
<os>
<type>exe</type>
</os>
</domain>
EOF
        check_grep "validate: invalid" 1 '^error: no-init\.xml' "$VIVCTL" validate no-init.xml
        cat >unknown-element.xml <<'EOF'
<domain type='lxc'>
<name>unknown</name>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
</os>
<frobnicator/>
</domain>
EOF
        check_grep "validate: unknown element" 1 '^error: unknown-element\.xml:8(:[0-9]+)?: ' "$VIVCTL" validate unknown-element.xml
        out=$("$VIVCTL" validate helloworld.xml malformed.xml 2>/dev/null); rc=$?
        if [ $rc = 1 ] && [ "$out" = "helloworld.xml validates" ]; then pass; else
                fail "validate: one good, one bad: exit $rc, stdout '$out'"; fi
        check "validate: missing file" 1 "" "error: Failed to open file 'nope.xml': No such file or directory" \
                "$VIVCTL" validate nope.xml

        # The XML corpus (tests/xml): every good document validates with
        # exactly its .warn on stderr; every bad one fails with exactly its
        # .err. Run from the corpus' directory: the messages name the file as
        # given. A <network> root in bad/ is a domain-parser case; vivctl
        # validates it as the network document it is, so it is left out.
        for kind in good network-good; do
                cd "$SRC/tests/xml/$kind" 2>/dev/null || continue
                for f in *.xml; do
                        case $f in *.out.xml) continue ;; esac
                        [ -e "$f" ] || continue
                        warn=
                        [ -f "${f%.xml}.warn" ] && warn=$(cat "${f%.xml}.warn")
                        check "validate $kind/$f" 0 "$f validates" "$warn" "$VIVCTL" validate "$f"
                done
        done
        for kind in bad network-bad; do
                cd "$SRC/tests/xml/$kind" 2>/dev/null || continue
                for f in *.xml; do
                        [ -e "$f" ] || continue
                        if [ $kind = bad ] && grep -q '^<network' "$f"; then continue; fi
                        if [ -f "${f%.xml}.err" ]; then
                                check "validate $kind/$f" 1 "" "error: $(cat "${f%.xml}.err")" "$VIVCTL" validate "$f"
                        else
                                check_grep "validate $kind/$f" 1 '^error: ' "$VIVCTL" validate "$f"
                        fi
                done
        done
        cd "$work" || exit 1
else
        fail "validate is not built (the XML parser in src/shared is missing)"
fi

echo "vivctl-cli: $passed passed, $failures failed"
[ $failures -eq 0 ]
