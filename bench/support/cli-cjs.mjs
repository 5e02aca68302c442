// The CLI built as one minified CommonJS file, for the start-up experiments (bench/code-cache.mjs,
// bench/startup-snapshot.mjs): what Node 20 can cache or snapshot, where it cannot the ES module
// bundle of dist/bundle. `define` and the rest of `extra` go to esbuild as given.
import { build } from "esbuild"

/** The flags bin/slicewise.js gives V8: a code cache or snapshot is rejected under other flags. */
export const CLI_V8_FLAGS = ["--max-semi-space-size=1", "--expose-gc", "--optimize-for-size", "--no-sparkplug"]

export const buildCliCjs = (entry, outfile, { define = {}, ...extra } = {}) =>
  build({
    entryPoints: [entry],
    define: {
      SLICEWISE_WORKER_BUNDLE: JSON.stringify("slicewise-worker.mjs"),
      SLICEWISE_KERNELS_BUNDLE: JSON.stringify("slicewise-kernels.mjs"),
      ...define
    },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    outfile,
    minify: true,
    logLevel: "error",
    ...extra
  })
