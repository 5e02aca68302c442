#!/usr/bin/python3
"""Checks TIFFs written by slicewise with a peer reader (tifffile).

    /usr/bin/python3 scripts/peers/check_tiff_output.py PATH [PATH ...]

Each PATH is a multi-page .tif file or a directory of 2D .tif files (a stack). Next to it the test
that wrote it leaves PATH.expected.json ({"dtype", "shape": [z, y, x], "spacing": [z, y, x],
"bigtiff": bool}) and PATH.expected.bin (the voxels, raw little-endian, z-major). The script checks
that tifffile sees one series of that shape and dtype holding exactly those bytes, the BigTIFF flag,
and the spacing (x, y from the resolution tags, z from the description). Prints one line per path;
exits 1 if any check fails.
"""
import json
import os
import sys
import warnings

import numpy as np
import tifffile


def spacing_from(page):
    def inverse(tag):
        t = page.tags.get(tag)
        if t is None:
            return 1.0
        num, den = t.value
        return den / num
    z = 1.0
    desc = page.description or ""
    for line in desc.splitlines():
        if line.startswith("spacing="):
            z = float(line.split("=", 1)[1])
    return [z, inverse("YResolution"), inverse("XResolution")]


def read_file(path, expect):
    with tifffile.TiffFile(path) as tif:
        problems = []
        if tif.is_bigtiff != expect["bigtiff"]:
            problems.append(f"is_bigtiff is {tif.is_bigtiff}")
        if len(tif.series) != 1:
            problems.append(f"{len(tif.series)} series")
        if len(tif.pages) != expect["shape"][0]:
            problems.append(f"{len(tif.pages)} pages")
        data = tif.series[0].asarray()
        return data, spacing_from(tif.pages[0]), problems


def read_stack(path, expect):
    names = sorted(n for n in os.listdir(path) if n.lower().endswith((".tif", ".tiff")))
    problems = []
    planes = []
    spacing = None
    for name in names:
        p, s, pr = read_file(os.path.join(path, name), {**expect, "shape": [1] + expect["shape"][1:]})
        planes.append(p.reshape(expect["shape"][1:]))
        spacing = spacing or s
        problems += [f"{name}: {x}" for x in pr]
    return np.stack(planes), spacing, problems


def check(path):
    with open(path + ".expected.json") as f:
        expect = json.load(f)
    dtype = np.dtype(expect["dtype"]).newbyteorder("<")
    want = np.fromfile(path + ".expected.bin", dtype=dtype).reshape(expect["shape"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tifffile warns about malformed files; treat that as failure
        data, spacing, problems = (read_stack if os.path.isdir(path) else read_file)(path, expect)
    data = data.reshape(data.shape if data.ndim == 3 else [expect["shape"][0]] + list(data.shape[-2:]))
    if data.dtype.newbyteorder("<") != dtype:
        problems.append(f"dtype {data.dtype}, expected {dtype}")
    if list(data.shape) != expect["shape"]:
        problems.append(f"shape {list(data.shape)}, expected {expect['shape']}")
    elif data.astype(dtype).tobytes() != want.tobytes():
        problems.append("voxels differ")
    if "spacing" in expect and not np.allclose(spacing, expect["spacing"], rtol=1e-12, atol=0):
        problems.append(f"spacing {spacing}, expected {expect['spacing']}")
    return problems


def main(paths):
    if not paths:
        print(__doc__)
        return 2
    failed = 0
    for path in paths:
        try:
            problems = check(path)
        except Exception as e:  # a reader exception is a failed check, reported like the others
            problems = [f"{type(e).__name__}: {e}"]
        print(("ok   " if not problems else "FAIL ") + path + ("" if not problems else ": " + "; ".join(problems)))
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
