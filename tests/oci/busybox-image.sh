#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# busybox-image.sh DIR TAG [APPLET...]: a FROM-scratch image made by Debian's
# umoci and skopeo (no registry: none is reachable), for the OCI tests and
# bench/run oci: the OCI layout DIR/img holding image TAG (/bin/busybox from
# busybox-static and a symlink per APPLET, Cmd /bin/sh), and the same image
# as a docker-archive, DIR/bb.tar, tagged localhost/bb:TAG.
# IMAGE_EXTRA, when set, is a shell snippet run in the root (its directory
# is the current one) before it is packed: more files, owners.
# Its tools' output goes to DIR/image.log; exits non-zero when one fails.
set -eu
dir=$1 tag=$2
shift 2
cd "$dir"
{
	umoci init --layout img
	umoci new --image "img:$tag"
	umoci unpack --image "img:$tag" bundle
	mkdir -p bundle/rootfs/bin
	cp /bin/busybox bundle/rootfs/bin/
	for a in "$@"; do ln -s busybox "bundle/rootfs/bin/$a"; done
	(cd bundle/rootfs && eval "${IMAGE_EXTRA:-:}")
	umoci repack --image "img:$tag" bundle
	umoci config --image "img:$tag" --config.cmd=/bin/sh
	skopeo copy "oci:img:$tag" "docker-archive:$dir/bb.tar:localhost/bb:$tag"
} >"$dir/image.log" 2>&1
