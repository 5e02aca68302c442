// Bundles the CLI into one ES module, dist/slicewise.mjs, which bin/slicewise.js loads. Resolving
// and compiling the ~900 modules of Effect, @effect/cli and slicewise one by one was most of the
// CLI's start-up (0.75 s against 0.27 s bundled, `--version`; docs/BENCHMARKS.md). The library
// itself (dist/**/*.js from tsc) stays unbundled for those who import it.
import { build } from "esbuild"

await build({
  entryPoints: ["src/cli/main.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: "dist/slicewise.mjs",
  sourcemap: true,
  logLevel: "warning",
  // CommonJS dependencies bundled into an ES module still call require().
  banner: { js: "import { createRequire as __slicewiseRequire } from 'node:module'; const require = __slicewiseRequire(import.meta.url);" }
})
