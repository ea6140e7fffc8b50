#!/bin/sh
# Regenerates the seed corpus of layer_tar_fuzz: small layer tarballs, hostile ones included.
# Usage: tests/fuzz/corpus/make-layer-tar-seeds.sh  (writes tests/fuzz/corpus/layer_tar/)
set -eu
out="$(dirname "$0")/layer_tar"
mkdir -p "$out"
python3 - "$out" <<'PY'
import gzip, io, sys, tarfile

out = sys.argv[1]

def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, **kw):
    return (name, kind, data, link, mode, kw)

def build(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data, link, mode, kw in entries:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mode = mode
            ti.mtime = 1700000000
            ti.linkname = link
            for k, v in kw.items():
                setattr(ti, k, v)
            ti.size = len(data) if kind == tarfile.REGTYPE else 0
            tf.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()

def write(name, data):
    with open(f"{out}/{name}", "wb") as f:
        f.write(data)

plain = build([entry("etc/", tarfile.DIRTYPE, mode=0o755), entry("etc/hosts", data=b"127.0.0.1 localhost\n"),
               entry("bin/sh", data=b"#!", mode=0o4755), entry("etc/link", tarfile.SYMTYPE, link="hosts"),
               entry("run/fifo", tarfile.FIFOTYPE)])
write("plain.tar", plain)
write("plain.tar.gz", gzip.compress(plain, mtime=0))
write("dotdot.tar", build([entry("../escape", data=b"x"), entry("a/../../escape2", data=b"x")]))
write("symlink_escape.tar", build([entry("evil", tarfile.SYMTYPE, link="../../.."), entry("evil/file", data=b"x"),
                                   entry("abs", tarfile.SYMTYPE, link="/tmp"), entry("abs/file", data=b"x")]))
write("hardlink.tar", build([entry("f", data=b"data"), entry("h", tarfile.LNKTYPE, link="f"),
                             entry("out", tarfile.LNKTYPE, link="../outside"), entry("m", tarfile.LNKTYPE, link="missing")]))
write("whiteout.tar", build([entry("d/", tarfile.DIRTYPE, mode=0o755), entry("d/.wh.gone"), entry(".wh.top"),
                             entry(".wh..wh.plnk")]))
write("opaque.tar", build([entry("o/", tarfile.DIRTYPE, mode=0o755), entry("o/keep", data=b"k"),
                           entry("o/.wh..wh..opq"), entry("o/late", data=b"l")]))
write("types.tar", build([entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
                          entry("x", data=b"file"), entry("x/", tarfile.DIRTYPE, mode=0o755), entry("x/y", data=b"y")]))
PY
