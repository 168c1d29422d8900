#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Makes OCI image layouts for the import tests, from a JSON description:
whatever a layer should hold, the hostile entries included (tar lets one
write them; umoci and skopeo never would).

  mkimage.py OUT_DIR SPEC.json

SPEC: {"config": {...image config.config...},
       "layers": [[ENTRY, ...], ...], "compress": "gzip"|"zstd"|"none"}
ENTRY: {"name": N, "type": "file"|"dir"|"symlink"|"hardlink"|"char"|"fifo",
        "data": TEXT, "from": HOST_FILE, "target": LINK, "mode": INT,
        "uid": INT, "gid": INT, "pax_padding": BYTES}
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}


def layer_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = TYPES[e.get("type", "file")]
            info.mode = e.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
            info.uid, info.gid = e.get("uid", 0), e.get("gid", 0)
            info.mtime = 1700000000
            if "pax_padding" in e:
                # A pax header of that many bytes: "huge headers".
                info.pax_headers = {"comment": "x" * e["pax_padding"]}
            data = None
            if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = e["target"]
            elif info.type == tarfile.CHRTYPE:
                info.devmajor, info.devminor = 1, 3
            elif info.type == tarfile.REGTYPE:
                if "from" in e:
                    with open(e["from"], "rb") as f:
                        data = f.read()
                else:
                    data = e.get("data", "").encode()
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        import gzip
        return gzip.compress(data, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    if how == "zstd":
        out = subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
        return out, "application/vnd.oci.image.layer.v1.tar+zstd"
    return data, "application/vnd.oci.image.layer.v1.tar"


def blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(out, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def main():
    out, spec_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    os.makedirs(out)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    layers, diff_ids = [], []
    for entries in spec["layers"]:
        raw = layer_tar(entries)
        data, media = compress(raw, spec.get("compress", "gzip"))
        digest, size = blob(out, data)
        layers.append({"mediaType": media, "digest": digest, "size": size})
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    config = {"architecture": "amd64", "os": "linux", "config": spec.get("config", {}),
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cdigest, csize = blob(out, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cdigest, "size": csize},
                "layers": layers}
    mdigest, msize = blob(out, json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
         "annotations": {"org.opencontainers.image.ref.name": spec.get("ref", "latest")}}]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)


if __name__ == "__main__":
    main()
