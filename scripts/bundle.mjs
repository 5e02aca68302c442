// Bundles the CLI into dist/bundle/: slicewise.mjs, which bin/slicewise.js loads, and chunks of what
// it imports only when needed. Resolving and compiling the ~900 modules of Effect, @effect/cli and
// slicewise one by one was most of the CLI's start-up (0.75 s against 0.27 s bundled, `--version`;
// docs/BENCHMARKS.md). The library itself (dist/**/*.js from tsc) stays unbundled for those who
// import it.
//
//   node scripts/bundle.mjs [--out DIR] [--no-minify]
//
// `npm run build` writes dist/bundle, minified; bench/runtime-floor.sh also builds an unminified
// copy elsewhere, to measure what minifying saves.
import * as fs from "node:fs"
import { build } from "esbuild"

const argv = process.argv.slice(2)
const OUT = argv.includes("--out") ? argv[argv.indexOf("--out") + 1] : "dist/bundle"
const MINIFY = !argv.includes("--no-minify")

// Chunk names carry a hash: clear out the previous build's.
fs.rmSync(OUT, { recursive: true, force: true })

// The row threads' worker (src/interpreters/run/threads) is a bundle of its own, beside the CLI's:
// it loads neither Effect nor the CLI. It knows no kernel either: it imports the module a recipe
// names, which for the built-in kernels is src/ops/kernels.ts, an entry point of its own here
// (importing the CLI's bundle in a worker would run the CLI). The CLI's ops code finds it beside
// its chunks by the name SLICEWISE_KERNELS_BUNDLE (src/ops/internal/kernel-module.ts); what the
// two share (dtypes, generated loops) goes to a chunk.
const WORKER = "slicewise-worker.mjs"
const KERNELS = "slicewise-kernels.mjs"
const defineKernels = { SLICEWISE_KERNELS_BUNDLE: JSON.stringify(KERNELS) }

await build({
  entryPoints: { "slicewise-worker": "src/interpreters/run/threads/worker.ts", "slicewise-kernels": "src/ops/kernels.ts" },
  define: defineKernels,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  splitting: true,
  outdir: OUT,
  entryNames: "[name]",
  chunkNames: "threads-[hash]",
  outExtension: { ".js": ".mjs" },
  minify: MINIFY,
  sourcemap: true,
  logLevel: "warning"
})

// Node built-ins that @effect/platform-node imports at start but a run seldom uses: node:crypto
// (its FileSystem, for the names of temporary files, which the CLI never makes) and node:readline
// (its terminal, for prompts). Loading them adds 2.2 and 0.8 MiB to a Node process's resident
// memory (bench/runtime-floor.sh), so the bundle gets stand-ins that load each on first use. A
// stand-in forwards only the names listed; if a dependency starts to import another, esbuild warns
// and the build fails below.
const LAZY_BUILTINS = { crypto: ["randomBytes"], readline: ["createInterface", "emitKeypressEvents"] }
const lazyBuiltins = {
  name: "lazy-node-builtins",
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(node:)?(${Object.keys(LAZY_BUILTINS).join("|")})$`) }, (args) =>
      /@effect[\\/]platform-node-shared/.test(args.importer) ? { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" } : undefined
    )
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({
      contents: LAZY_BUILTINS[args.path].map((name) => `export const ${name} = (...a) => require("node:${args.path}").${name}(...a)`).join("\n"),
      loader: "js"
    }))
  }
}

const cli = await build({
  entryPoints: { slicewise: "src/cli/main.ts" },
  plugins: [lazyBuiltins],
  define: { SLICEWISE_WORKER_BUNDLE: JSON.stringify(WORKER), ...defineKernels },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // What the code imports dynamically (Zarr's codecs, geotiff's decoders: 2 of the 4 MiB) goes to
  // chunks of its own, parsed only by a run that opens such a file.
  splitting: true,
  outdir: OUT,
  entryNames: "[name]",
  chunkNames: "[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  // Minified: V8 keeps a script's source in memory for as long as its functions may be compiled,
  // so 1.3 MB of loaded source less is resident memory less (0.5 MiB of a copy's peak RSS,
  // bench/runtime-floor.sh). The source maps beside each file give stack traces their names back
  // (node --enable-source-maps).
  minify: MINIFY,
  sourcemap: true,
  logLevel: "warning",
  // CommonJS dependencies bundled into an ES module still call require().
  banner: { js: "import { createRequire as __slicewiseRequire } from 'node:module'; const require = __slicewiseRequire(import.meta.url);" }
})
// A warning here can mean a stand-in above lacks what a dependency now imports: fail the build.
if (cli.warnings.length > 0) throw new Error(`bundling the CLI: ${cli.warnings.length} warning(s), see above`)
