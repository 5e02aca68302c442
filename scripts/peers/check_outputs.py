#!/usr/bin/env python3
"""Reads slicewise's outputs (scripts/peers/write_outputs.ts) with nibabel and zarr-python 2.13.

Checks voxels, shapes, dtypes, spacing (NIfTI zooms, OME scales), and for OME-Zarr the pyramid
levels against a numpy 2x2x2 mean (truncated, the slicewise cast rule) or mode (ties to the smaller).
Prints one line per output and exits non-zero on any mismatch.

    /usr/bin/python3 scripts/peers/check_outputs.py /tmp/slicewise-peers
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import zarr

root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/slicewise-peers"
manifest = json.load(open(os.path.join(root, "manifest.json")))
failures = 0


def expected(entry):
    raw = np.fromfile(os.path.join(root, entry["name"] + ".expected.bin"), dtype=np.dtype(entry["dtype"]).newbyteorder("<"))
    return raw.reshape(entry["shape"])


def reduce(a, labels):
    z, y, x = a.shape
    out = np.zeros(((z + 1) // 2, (y + 1) // 2, (x + 1) // 2), dtype=a.dtype)
    for k in range(out.shape[0]):
        for j in range(out.shape[1]):
            for i in range(out.shape[2]):
                block = a[2 * k:2 * k + 2, 2 * j:2 * j + 2, 2 * i:2 * i + 2].ravel()
                if labels:
                    vals, counts = np.unique(block, return_counts=True)
                    out[k, j, i] = vals[np.argmax(counts)]  # np.unique sorts: ties go to the smaller
                else:
                    out[k, j, i] = np.trunc(block.astype(np.float64).mean())
    return out


for e in manifest:
    path = os.path.join(root, e["name"])
    want = expected(e)
    problems = []
    if e["kind"] == "nifti":
        img = nib.load(path)
        got = np.asarray(img.dataobj).transpose(2, 1, 0)
        if got.dtype != want.dtype:
            problems.append(f"dtype {got.dtype}")
        if not np.array_equal(got, want):
            problems.append("voxels differ")
        zooms = img.header.get_zooms()[:3][::-1]
        if not np.allclose(zooms, e["spacing"]):
            problems.append(f"zooms {zooms}")
        if not np.allclose(np.diag(img.affine)[:3], e["spacing"][::-1]):
            problems.append(f"affine {img.affine.tolist()}")
    elif e["kind"] == "zarr":
        a = zarr.open(path, mode="r")
        got = a[:]
        if got.dtype != want.dtype or not np.array_equal(got, want):
            problems.append("voxels differ")
        comp = a.compressor.codec_id if a.compressor else "raw"
        if comp != e["codec"]:
            problems.append(f"compressor {comp}")
    else:
        g = zarr.open_group(path, mode="r")
        ms = g.attrs["multiscales"][0]
        if ms["version"] != "0.4" or [a["name"] for a in ms["axes"]] != ["z", "y", "x"]:
            problems.append("multiscales header")
        level = want
        for i, d in enumerate(ms["datasets"]):
            got = g[d["path"]][:]
            if i > 0:
                level = reduce(level, e["labels"])
            if not np.array_equal(got, level):
                problems.append(f"level {i} differs")
            scale = d["coordinateTransformations"][0]["scale"]
            if not np.allclose(scale, [2 * 2 ** i, 0.5 * 2 ** i, 0.5 * 2 ** i]):
                problems.append(f"level {i} scale {scale}")
    failures += bool(problems)
    print(f"{'FAIL' if problems else 'ok  '} {e['name']}{': ' + ', '.join(problems) if problems else ''}")

print(f"{len(manifest) - failures} of {len(manifest)} outputs read back identical with nibabel {nib.__version__} / zarr-python {zarr.__version__}")
sys.exit(1 if failures else 0)
