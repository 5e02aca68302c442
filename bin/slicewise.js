#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=1 --expose-gc
// Slices are large, short-lived allocations: V8 would grow its young generation to 3 × 16 MiB for
// them, tens of MiB of resident memory that no memory budget accounts for. A 1 MiB semi-space
// keeps the process at the runtime plus the planned buffers, and measured no slower
// (docs/BENCHMARKS.md, "Memory budgets"). --expose-gc lets a banded run free one band's buffers
// before the next allocates its own (src/interpreters/run/bands.ts). The two glibc settings keep
// freed buffers of 128 KiB and more (gzip chunks, a finished pass's rings) from staying resident:
// glibc otherwise raises its mmap threshold after the first such free and keeps later ones in its
// heap (20–40 MiB more RSS reading .nii.gz; elsewhere they are ignored). The CLI is bundled
// (scripts/bundle.mjs): loading it takes a third of the time of loading its modules one by one.
import "../dist/bundle/slicewise.mjs"
