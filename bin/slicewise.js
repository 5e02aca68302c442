#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=1 --expose-gc --optimize-for-size --no-sparkplug
// Slices are large, short-lived allocations: V8 would grow its young generation to 3 × 16 MiB for
// them, tens of MiB of resident memory that no memory budget accounts for. A 1 MiB semi-space
// keeps the process at the runtime plus the planned buffers, and measured no slower
// (docs/BENCHMARKS.md, "Memory budgets"). --expose-gc lets a run collect what start-up, a finished
// pass or a band leaves before the next allocates (src/interpreters/run/bands.ts).
// --optimize-for-size has V8 grow its old generation in smaller steps, and --no-sparkplug leaves
// warm functions (Effect's, the CLI's) to the interpreter instead of compiling them to baseline
// machine code, while TurboFan still optimises the kernels: 1–5 and 0.3–2 MiB less peak RSS, and
// no slower, on every op at 512³ (docs/BENCHMARKS.md, "Peak RSS: every run within a third of
// scipy's"). The two glibc settings keep freed buffers of 128 KiB and more (gzip chunks, a
// finished pass's rings) from staying resident: glibc otherwise raises its mmap threshold after
// the first such free and keeps later ones in its heap (20–40 MiB more RSS reading .nii.gz;
// elsewhere they are ignored). The CLI is bundled (scripts/bundle.mjs): loading it takes a third
// of the time of loading its modules one by one.
// With SLICEWISE_DEBUG set a failure prints its whole cause; the bundle's source maps then give
// its stack the names and files of the sources instead of the minified bundle's.
if (process.env.SLICEWISE_DEBUG) process.setSourceMapsEnabled(true)
await import("../dist/bundle/slicewise.mjs")
