#!/usr/bin/python3
"""Checks the geometry slicewise writes into TIFFs with tifffile.

    npx tsx scripts/peers/write_tiff_geometry.ts /tmp/slicewise-tiff-geometry && \
      /usr/bin/python3 scripts/peers/check_tiff_geometry.py /tmp/slicewise-tiff-geometry

For each entry of DIR/manifest.json (written by write_tiff_geometry.ts), for the file or every file
of a stack:
- every output must be an ImageJ file to tifffile (TiffFile.is_imagej), whatever its dtype, and
  tifffile.imagej_metadata must give `spacing` (the z spacing), `unit` (ImageJ's name: micron, mm,
  nm, cm, inch; absent when the volume has none), `xorigin`/`yorigin`/`zorigin` (pixels; absent
  when 0) and loop=False (a manifest entry with "imagej": false, from older writers, is parsed
  with tifffile's own ImageJ description parser after `slicewise=1`);
- X/YResolution must be 1 / spacing (tifffile's tag values), ResolutionUnit NONE;
- tifffile's series 0 must be (z, y, x) of the volume's shape: the ImageJ description is not taken
  for a hyperstack.
Prints one line per output; exits 1 if any check fails.
"""
import json
import math
import os
import sys
import warnings

import tifffile
from tifffile.tifffile import imagej_description_metadata


def files_of(path):
    if os.path.isdir(path):
        return [os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith(".tif")]
    return [path]


def close(a, b):
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def check_file(e, f, depth):
    problems = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tifffile.TiffFile(f) as tif:
            page = tif.pages[0]
            if e["imagej"]:
                if not tif.is_imagej:
                    return [f"{f}: not an ImageJ file to tifffile"]
                meta = tif.imagej_metadata
            else:
                meta = imagej_description_metadata(page.description.replace("slicewise=", "ImageJ=", 1))
            if not close(meta.get("spacing", 1.0), e["spacing"][0]):
                problems.append(f"spacing {meta.get('spacing')} != {e['spacing'][0]}")
            if meta.get("unit") != e["unit"]:
                problems.append(f"unit {meta.get('unit')!r} != {e['unit']!r}")
            for axis, want in zip("xyz", e["originPixels"]):
                got = meta.get(f"{axis}origin", 0)
                if not close(got, want):
                    problems.append(f"{axis}origin {got} != {want}")
            if meta.get("loop") is not False:
                problems.append(f"loop {meta.get('loop')!r}")
            for tag, want in (("XResolution", e["spacing"][2]), ("YResolution", e["spacing"][1])):
                num, den = page.tags[tag].value
                if not close(den / num, want):
                    problems.append(f"{tag} {num}/{den}: spacing {den / num} != {want}")
            if page.tags["ResolutionUnit"].value != 1:
                problems.append(f"ResolutionUnit {page.tags['ResolutionUnit'].value}")
            shape = tif.series[0].shape
            want_shape = (depth, 9, 7) if depth > 1 else (9, 7)
            if tuple(shape) != want_shape:
                problems.append(f"tifffile series shape {shape} != {want_shape}")
    return [f"{os.path.basename(f)}: {p}" for p in problems]


def main(out):
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    failed = 0
    for e in manifest:
        path = os.path.join(out, e["name"])
        files = files_of(path)
        problems = []
        for f in files:
            try:
                problems += check_file(e, f, 4 if e["kind"] == "tiff" else 1)
            except Exception as x:
                problems.append(f"{os.path.basename(f)}: {type(x).__name__}: {x}")
        failed += bool(problems)
        print(("ok   " if not problems else "FAIL ") + f"{e['name']:28} unit={e['unit']} spacing={e['spacing']} origin(px)={e['originPixels']}"
              + ("" if not problems else ": " + "; ".join(problems[:3])))
    print(f"{len(manifest) - failed} of {len(manifest)} outputs passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/slicewise-tiff-geometry"))
