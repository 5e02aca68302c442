#!/usr/bin/python3
"""Checks slicewise's compressed outputs with peer readers.

    npx tsx scripts/peers/write_compressed_outputs.ts DIR && /usr/bin/python3 scripts/peers/check_compressed_outputs.py DIR

For each entry of DIR/manifest.json (written by write_compressed_outputs.ts) the voxels must equal
DIR/<name>.expected.bin (little-endian, z, y, x):
- TIFF files and stacks: read by tifffile (one series of that shape and dtype; the BigTIFF flag;
  skipped where tifffile needs imagecodecs, which Debian 12 does not package: LZW, predictor 3),
  by Pillow frame by frame where Pillow has a mode for the dtype (uint8, int8 is skipped, uint16,
  int16, int32, float32), and by libtiff's `tiffinfo -D` (decodes every strip; any error or
  warning fails). The spacing is checked from tifffile's tags and ImageJ description.
- NRRD: read by Teem's `unu save -e raw` (teem-apps installs it as teem-unu), which decodes the
  gzip data, then compared byte for byte after conversion to little-endian.
Prints one line per output and reader; exits 1 if any check fails.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import tifffile
from PIL import Image

UNU = shutil.which("unu") or shutil.which("teem-unu")
TIFFINFO = shutil.which("tiffinfo")
PIL_DTYPES = {"uint8", "uint16", "int16", "int32", "float32"}


def files_of(path):
    if os.path.isdir(path):
        return [os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith(".tif")]
    return [path]


def spacing_from(page):
    def inverse(tag):
        t = page.tags.get(tag)
        num, den = t.value
        return den / num
    z = 1.0
    for line in (page.description or "").splitlines():
        if line.startswith("spacing="):
            z = float(line.split("=", 1)[1])
    return [z, inverse("YResolution"), inverse("XResolution")]


def by_tifffile(e, path, want):
    planes, problems = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in files_of(path):
            with tifffile.TiffFile(f) as tif:
                if tif.is_bigtiff != e["bigtiff"]:
                    problems.append(f"{f}: is_bigtiff {tif.is_bigtiff}")
                planes.append(tif.series[0].asarray().reshape([-1] + e["shape"][1:]))
                if f == files_of(path)[0] and e["kind"] == "tiff":
                    s = spacing_from(tif.pages[0])
                    if not np.allclose(s, e["spacing"], rtol=1e-12):
                        problems.append(f"spacing {s}")
                    if len(tif.pages) != e["shape"][0]:
                        problems.append(f"{len(tif.pages)} pages")
    data = np.concatenate(planes)
    if data.astype(want.dtype).tobytes() != want.tobytes() or data.dtype.newbyteorder("<") != want.dtype:
        problems.append(f"voxels differ (dtype {data.dtype}, shape {data.shape})")
    return problems


def by_pillow(e, path, want):
    if e["dtype"] not in PIL_DTYPES:
        return None
    planes = []
    for f in files_of(path):
        with Image.open(f) as im:
            for i in range(getattr(im, "n_frames", 1)):
                im.seek(i)
                planes.append(np.array(im).astype(want.dtype).reshape(e["shape"][1:]))
    data = np.stack(planes)
    return [] if data.tobytes() == want.tobytes() else ["voxels differ"]


def by_tiffinfo(e, path, want):
    problems = []
    for f in files_of(path):
        r = subprocess.run([TIFFINFO, "-D", f], capture_output=True, text=True)
        text = r.stdout + r.stderr
        if r.returncode != 0 or "error" in text.lower() or "warning" in text.lower():
            problems.append(f"{f}: exit {r.returncode}: {text.strip().splitlines()[-1:]}")
        scheme = "LZW" if "lzw" in e["name"] else "AdobeDeflate"
        if f"Compression Scheme: {scheme}" not in text:
            problems.append(f"{f}: no 'Compression Scheme: {scheme}'")
        if "Predictor: " + ("floating point predictor 3" if e["dtype"].startswith("float") else "horizontal differencing 2") not in text:
            problems.append(f"{f}: predictor not as expected")
    return problems


def by_unu(e, path, want):
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([UNU, "save", "-i", path, "-f", "nrrd", "-e", "raw", "-en", "little", "-o", os.path.join(tmp, "x.nhdr")], capture_output=True, text=True)
        if r.returncode != 0:
            return [f"unu failed: {r.stderr.strip()}"]
        with open(os.path.join(tmp, "x.raw"), "rb") as f:
            return [] if f.read() == want.tobytes() else ["voxels differ"]


def main(out):
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    failed = checked = 0
    for e in manifest:
        path = os.path.join(out, e["name"])
        want = np.fromfile(path + ".expected.bin", dtype=np.dtype(e["dtype"]).newbyteorder("<")).reshape(e["shape"])
        readers = [("unu", by_unu)] if e["kind"] == "nrrd" else [("tifffile", by_tifffile), ("Pillow", by_pillow), ("tiffinfo", by_tiffinfo)]
        for name, reader in readers:
            try:
                problems = reader(e, path, want)
            except Exception as x:
                if "requires the 'imagecodecs' package" in str(x):
                    # Debian 12 packages tifffile without imagecodecs: no LZW, no predictor 3.
                    print(f"skip {name:9} {e['name']}: {x}")
                    continue
                problems = [f"{type(x).__name__}: {x}"]
            if problems is None:
                continue
            checked += 1
            failed += bool(problems)
            print(("ok   " if not problems else "FAIL ") + f"{name:9} {e['name']}" + ("" if not problems else ": " + "; ".join(problems)))
    print(f"{checked - failed} of {checked} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/slicewise-compressed"))
