// Bundles the CLI into dist/bundle/: slicewise.mjs, which bin/slicewise.js loads, and chunks of what
// it imports only when needed. Resolving and compiling the ~900 modules of Effect, @effect/cli and
// slicewise one by one was most of the CLI's start-up (0.75 s against 0.27 s bundled, `--version`;
// docs/BENCHMARKS.md). The library itself (dist/**/*.js from tsc) stays unbundled for those who
// import it.
import * as fs from "node:fs"
import { build } from "esbuild"

// Chunk names carry a hash: clear out the previous build's.
fs.rmSync("dist/bundle", { recursive: true, force: true })

// The row threads' worker (src/interpreters/run/threads) is a bundle of its own, beside the CLI's:
// it loads the kernels, not Effect or the CLI.
const WORKER = "slicewise-worker.mjs"

await build({
  entryPoints: ["src/interpreters/run/threads/worker.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: `dist/bundle/${WORKER}`,
  sourcemap: true,
  logLevel: "warning"
})

// @effect/platform-node's FileSystem imports node:crypto for the names of temporary files, which
// the CLI never makes. Importing node:crypto adds 2 MiB to a bare Node process's resident memory,
// so the bundle gets a stand-in that loads it on first use.
const lazyCrypto = {
  name: "lazy-node-crypto",
  setup(b) {
    b.onResolve({ filter: /^(node:)?crypto$/ }, (args) =>
      /@effect[\\/]platform-node-shared/.test(args.importer) ? { path: "lazy-crypto", namespace: "lazy-crypto" } : undefined
    )
    b.onLoad({ filter: /.*/, namespace: "lazy-crypto" }, () => ({
      contents: "export const randomBytes = (...args) => require('node:crypto').randomBytes(...args)",
      loader: "js"
    }))
  }
}

const cli = await build({
  entryPoints: { slicewise: "src/cli/main.ts" },
  plugins: [lazyCrypto],
  define: { SLICEWISE_WORKER_BUNDLE: JSON.stringify(WORKER) },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // What the code imports dynamically (Zarr's codecs, geotiff's decoders: 2 of the 4 MiB) goes to
  // chunks of its own, parsed only by a run that opens such a file.
  splitting: true,
  outdir: "dist/bundle",
  entryNames: "[name]",
  chunkNames: "[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  sourcemap: true,
  logLevel: "warning",
  // CommonJS dependencies bundled into an ES module still call require().
  banner: { js: "import { createRequire as __slicewiseRequire } from 'node:module'; const require = __slicewiseRequire(import.meta.url);" }
})
// A warning here can mean a stand-in above lacks what a dependency now imports: fail the build.
if (cli.warnings.length > 0) throw new Error(`bundling the CLI: ${cli.warnings.length} warning(s), see above`)
