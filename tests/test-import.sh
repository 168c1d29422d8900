#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vivctl import (issue 16), on this machine's files (no test host: nothing
# runs): images made here, by tests/oci/mkimage.py (layers with whiteouts,
# owners, setuid, devices, hard links; gzip, zstd and plain layers) and by
# Debian's umoci and skopeo (OCI layout, oci-archive, docker-archive), become
# a root and a domain XML that validates; hostile archives ("../" names,
# absolute names, symlinks leading out then entries through them, hard links
# out, whiteouts through a symlink, oversized pax headers, truncated layers,
# layer paths leaving the image) are refused naming the entry, leaving no
# root, no staging directory and nothing outside.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
build=${VIVARIUM_BUILD_DIR:?}
skip() {
	echo "SKIP: $*"
	[ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ] && exit 1
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (owners are set)"
for tool in umoci skopeo zstd python3; do
	command -v $tool >/dev/null || skip "$tool is not installed (tools/deps.sh)"
done
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || skip "no static /bin/busybox (busybox-static)"

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
export VIVARIUM_IMPORT_PATH=$build/src/image/vivarium-import
vivctl() { "$build/src/ctl/vivctl" "$@"; }

work=$(mktemp -d /tmp/vt-import.XXXXXX)
trap 'rm -rf "$work"' EXIT
roots=$work/roots
outside=$work/outside
mkdir -p "$roots" "$outside"
echo original >"$outside/sentinel"

# spec NAME JSON: an image made by mkimage.py from JSON
image() {
	printf '%s' "$2" >"$work/$1.json"
	python3 "$here/oci/mkimage.py" "$work/$1" "$work/$1.json"
}

# --- a good image: two layers, whiteouts, owners, odd entries ---------------
good_layer1='[
 {"name": "./", "type": "dir", "mode": 493},
 {"name": "bin/", "type": "dir"},
 {"name": "bin/busybox", "from": "/bin/busybox", "mode": 493},
 {"name": "bin/sh", "type": "symlink", "target": "busybox"},
 {"name": "bin/hl", "type": "hardlink", "target": "bin/busybox"},
 {"name": "bin/suid", "data": "x", "mode": 3565},
 {"name": "etc/passwd", "data": "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"},
 {"name": "etc/group", "data": "root:x:0:\napp:x:1000:\n"},
 {"name": "home/app/own", "data": "mine", "uid": 1000, "gid": 1000},
 {"name": "gone.txt", "data": "bye"},
 {"name": "olddir/a", "data": "a"},
 {"name": "olddir/b", "data": "b"},
 {"name": "keep/x", "data": "file"},
 {"name": "dev/null", "type": "char"},
 {"name": "run/fifo", "type": "fifo"}
]'
good_layer2='[
 {"name": "olddir/c", "data": "c"},
 {"name": "olddir/.wh..wh..opq", "data": ""},
 {"name": ".wh.gone.txt", "data": ""},
 {"name": "keep/x", "type": "symlink", "target": "/etc/passwd"},
 {"name": "./usr/lib//deep/f", "data": "deep"}
]'
good_config='{"Entrypoint": ["sh", "-c"], "Cmd": ["echo hello"],
 "Env": ["PATH=/usr/bin:/bin", "GREETING=a<b&c"], "WorkingDir": "/home/app", "User": "app:1000"}'
for c in gzip zstd none; do
	image good-$c "{\"compress\": \"$c\", \"config\": $good_config, \"layers\": [$good_layer1, $good_layer2]}"
done

out=$(vivctl import "$work/good-gzip" "$roots/good" --name web 2>"$work/err")
err=$(cat "$work/err")
check "a two-layer OCI layout imports" test -x "$roots/good/bin/busybox"
check "the summary names the format and counts" contains "$err" "Imported oci image '$work/good-gzip' into '$roots/good': 2 layers"
check "the summary notes the skipped device node" contains "$err" "1 device nodes and sockets were not created"
check "the summary notes the setgid file" contains "$err" "1 setuid or setgid files"
check "the XML names the root" contains "$out" "<source dir='$roots/good'/>"
check "the XML's name is --name" contains "$out" "<name>web</name>"
check "a bare command is looked up in the image's PATH" contains "$out" "<init>/bin/sh</init>"
check "Entrypoint's rest then Cmd are initargs" contains "$out" "$(printf '    <initarg>-c</initarg>\n    <initarg>echo hello</initarg>')"
check "Env becomes initenv, escaped" contains "$out" "<initenv name='GREETING'>a&lt;b&amp;c</initenv>"
check "WorkingDir becomes initdir" contains "$out" "<initdir>/home/app</initdir>"
check "User's name becomes inituser" contains "$out" "<inituser>app</inituser>"
check "User's group becomes initgroup" contains "$out" "<initgroup>1000</initgroup>"
printf '%s\n' "$out" >"$work/web.xml"
check "the XML validates" contains "$(vivctl validate "$work/web.xml" 2>&1)" "validates"

check "a plain whiteout removes the lower file" test ! -e "$roots/good/gone.txt"
check "an opaque whiteout empties the lower directory" same "$(ls "$roots/good/olddir")" "c"
check "no whiteout file is left" same "$(find "$roots/good" -name '.wh.*')" ""
check "a symlink replaces a lower file" same "$(readlink "$roots/good/keep/x")" "/etc/passwd"
check "owners are kept" same "$(stat -c %u:%g "$roots/good/home/app/own")" "1000:1000"
check "modes are kept, setuid and setgid included" same "$(stat -c %a "$roots/good/bin/suid")" "6755"
check "a hard link is one inode" same "$(stat -c %i "$roots/good/bin/hl")" "$(stat -c %i "$roots/good/bin/busybox")"
check "a fifo is made" test -p "$roots/good/run/fifo"
check "device nodes are not made" test ! -e "$roots/good/dev/null"
check "names are normalized ('./a//b')" same "$(cat "$roots/good/usr/lib/deep/f")" "deep"
check "the root is 0755 and root's" same "$(stat -c %a:%u "$roots/good")" "755:0"
check "no staging directory is left" same "$(ls -A "$roots")" "good"
check "mtimes are kept" same "$(stat -c %Y "$roots/good/etc/passwd")" "1700000000"

for c in zstd none; do
	check "$c layers import" quiet vivctl -q import "$work/good-$c" "$roots/good-$c"
	check "$c layers give the same tree" same "$(cd "$roots/good-$c" && find . -printf '%p %y %m %U\n' | sort)" \
		"$(cd "$roots/good" && find . -printf '%p %y %m %U\n' | sort)"
done
check "--id-shift adds to every owner" quiet vivctl import "$work/good-gzip" "$roots/shifted" --id-shift 100000 --xml "$work/s.xml"
check "--id-shift: a file of 1000" same "$(stat -c %u:%g "$roots/shifted/home/app/own")" "101000:101000"
check "--id-shift: the root" same "$(stat -c %u "$roots/shifted")" "100000"
check "--xml writes the XML to the file" contains "$(cat "$work/s.xml")" "<name>shifted</name>"
out=$(vivctl import "$work/good-gzip" "$roots/good" 2>&1)
check "an existing target is refused" contains "$out" "'$roots/good' exists already"
out=$(vivctl import "$work/good-gzip" "$roots/x" --ref nosuch 2>&1)
check "an unknown --ref is refused" contains "$out" "has no manifest named 'nosuch'"
check "... and leaves nothing" test ! -e "$roots/x"

# --- images made by Debian's umoci and skopeo ------------------------------
(
	cd "$work" &&
	umoci init --layout real &&
	umoci new --image real:1 &&
	umoci unpack --image real:1 bundle &&
	mkdir -p bundle/rootfs/bin bundle/rootfs/old &&
	cp /bin/busybox bundle/rootfs/bin/ && ln -s busybox bundle/rootfs/bin/sh &&
	echo x >bundle/rootfs/old/f &&
	umoci repack --image real:1 bundle &&
	rm -rf bundle/rootfs/old && echo y >bundle/rootfs/new &&
	umoci repack --image real:1 bundle &&
	umoci config --image real:1 --config.entrypoint=/bin/sh --config.cmd=-c --config.cmd='echo hi' \
		--config.env=FOO=bar --config.workingdir=/ --config.user=0:0 &&
	skopeo copy oci:real:1 oci-archive:real-oci.tar &&
	skopeo copy oci:real:1 docker-archive:real-docker.tar:real:1
) >"$work/umoci.log" 2>&1
check "umoci and skopeo made the images" test -s "$work/real-docker.tar" || sed 's/^/#  /' "$work/umoci.log"
for src in "real" "real-oci.tar" "real-docker.tar"; do
	out=$(vivctl -q import "$work/$src" "$roots/$src.root" 2>&1)
	check "$src imports" test -x "$roots/$src.root/bin/busybox"
	check "$src: umoci's whiteout of old/ applied" test ! -e "$roots/$src.root/old"
	check "$src: the second layer's file" test -e "$roots/$src.root/new"
	check "$src: Entrypoint and Cmd" contains "$out" "<init>/bin/sh</init>"
	check "$src: Env" contains "$out" "<initenv name='FOO'>bar</initenv>"
done
check "a docker-archive by its tag" quiet vivctl -q import "$work/real-docker.tar" "$roots/tagged" --ref real:1
out=$(vivctl import "$work/real-docker.tar" "$roots/x" --ref other:2 2>&1)
check "a docker-archive without that tag is refused" contains "$out" "no image tagged 'other:2'"
check "a staging directory of an archive is removed" same "$(ls -A "$roots" | grep -c '^\.')" "0"

# --- hostile images ----------------------------------------------------------
base_layer='[{"name": "bin/busybox", "from": "/bin/busybox", "mode": 493}]'
# refused NAME LAYERS ENTRY REASON: the image is refused naming ENTRY and
# REASON, and neither a root, nor a staging directory, nor anything outside is left.
refused() {
	image "$1" "{\"layers\": [$base_layer, $2]}"
	out=$(vivctl import "$work/$1" "$roots/$1" 2>&1)
	check "$1: refused naming the entry" contains "$out" "entry '$3': $4"
	check "$1: no root is left" test ! -e "$roots/$1"
	check "$1: no staging directory is left" same "$(ls -A "$roots" | grep -c "^\.$1")" "0"
	check "$1: nothing outside changed" same "$(ls "$outside"; cat "$outside/sentinel")" "$(printf 'sentinel\noriginal')"
	check "$1: nothing in the roots' directory" test ! -e "$roots/pwned"
}
refused dotdot '[{"name": "../pwned", "data": "x"}]' "../pwned" "path contains '..'"
refused dotdot-deep '[{"name": "a/../../pwned", "data": "x"}]' "a/../../pwned" "path contains '..'"
refused absolute '[{"name": "/pwned", "data": "x"}]' "/pwned" "absolute path"
refused abs-symlink-then-file "[{\"name\": \"out\", \"type\": \"symlink\", \"target\": \"$outside\"},
 {\"name\": \"out/pwned\", \"data\": \"x\"}]" "out/pwned" "a symlink on its path leads out of the image"
refused rel-symlink-then-file '[{"name": "up", "type": "symlink", "target": ".."},
 {"name": "up/pwned", "data": "x"}]' "up/pwned" "a symlink on its path leads out of the image"
refused symlink-then-dir "[{\"name\": \"out\", \"type\": \"symlink\", \"target\": \"$outside\"},
 {\"name\": \"out/sub/\", \"type\": \"dir\"}]" "out/sub/" "a symlink on its path leads out of the image"
refused hardlink-out '[{"name": "hl", "type": "hardlink", "target": "../outside/sentinel"}]' \
	"hl" "hard link target '../outside/sentinel': path contains '..'"
refused hardlink-abs "[{\"name\": \"hl\", \"type\": \"hardlink\", \"target\": \"$outside/sentinel\"}]" \
	"hl" "hard link target '$outside/sentinel': absolute path"
refused hardlink-via-symlink "[{\"name\": \"out\", \"type\": \"symlink\", \"target\": \"$outside\"},
 {\"name\": \"hl\", \"type\": \"hardlink\", \"target\": \"out/sentinel\"}]" \
	"hl" "hard link target 'out/sentinel': a symlink on its path leads out of the image"
refused whiteout-via-symlink "[{\"name\": \"out\", \"type\": \"symlink\", \"target\": \"$outside\"}],
 [{\"name\": \"out/.wh.sentinel\", \"data\": \"\"}]" "out/.wh.sentinel" "a symlink on its path leads out of the image"
refused huge-header '[{"name": "small", "data": "x"}, {"name": "big", "data": "x", "pax_padding": 3000000}]' \
	"small" "the header after it: Special header too large"

# A symlink planted under a name is replaced, never written through.
image planted "{\"layers\": [[{\"name\": \"victim\", \"type\": \"symlink\", \"target\": \"$outside/made\"}],
 [{\"name\": \"victim\", \"data\": \"inside\"}]]}"
check "a file over a planted symlink imports" quiet vivctl -q import "$work/planted" "$roots/planted"
check "... replacing the symlink" same "$(stat -c %F "$roots/planted/victim"):$(cat "$roots/planted/victim")" \
	"regular file:inside"
check "... writing nothing through it" test ! -e "$outside/made"

# A truncated layer.
image truncated "{\"compress\": \"none\", \"layers\": [$base_layer]}"
blob=$(ls -S "$work/truncated/blobs/sha256" | head -1)
truncate -s 100000 "$work/truncated/blobs/sha256/$blob"
out=$(vivctl import "$work/truncated" "$roots/truncated" 2>&1)
check "a truncated layer is refused naming the entry" contains "$out" "entry 'bin/busybox': the header after it: Truncated input file"
check "... and leaves no root" test ! -e "$roots/truncated"

# A docker-archive whose manifest names files outside the image.
mkdir -p "$work/escape"
printf '[{"Config": "c.json", "Layers": ["../outside/sentinel"]}]' >"$work/escape/manifest.json"
printf '{"os": "linux", "config": {}}' >"$work/escape/c.json"
tar -C "$work/escape" -cf "$work/escape.tar" manifest.json c.json
out=$(vivctl import "$work/escape.tar" "$roots/escape" 2>&1)
check "a layer path leaving the image is refused" contains "$out" "layer 1 '../outside/sentinel'"
check "... saying why" contains "$out" "it leads out of the image"
check "... and leaves no root" test ! -e "$roots/escape"
# An OCI index whose digest is a path.
image digest '{"layers": []}'
sed -i 's|"digest": "sha256:[0-9a-f]*"|"digest": "sha256:../../x"|' "$work/digest/index.json"
out=$(vivctl import "$work/digest" "$roots/digest" 2>&1)
check "a digest that is a path is refused" contains "$out" "invalid digest 'sha256:../../x'"
# An image archive with hostile names itself.
python3 - "$work/evil-archive.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../pwned"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
EOF
out=$(vivctl import "$work/evil-archive.tar" "$roots/evil" 2>&1)
check "an image archive with a '../' name is refused" contains "$out" "entry '../pwned': path contains '..'"
check "... and writes nothing next to the roots" test ! -e "$work/pwned"
check "after all refusals the roots' directory holds only the imported roots" \
	same "$(ls -A "$roots" | grep -c '^\.')" "0"

echo "1..$n"
[ "$failures" = 0 ]
