#!/usr/bin/python3
"""The scipy.ndimage / skimage backend of the benchmark matrix (bench/matrix/run.ts): read a TIFF
stack with tifffile into memory, run one op (bench/peers/matrix_ops.py), write a TIFF stack.

    /usr/bin/python3 bench/peers/matrix_scipy.py IN_DIR OUT_DIR OP        # e.g. uniform:3, dilate:1, edt
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix_ops import apply, read_stack, write_slices  # noqa: E402


def main():
    src, dst, op = sys.argv[1], sys.argv[2], sys.argv[3]
    vol = read_stack(src)
    out = apply(op, vol)
    os.makedirs(dst, exist_ok=True)
    write_slices(dst, 0, out)


if __name__ == "__main__":
    main()
