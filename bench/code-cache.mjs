// What a V8 code cache would take off the CLI's start-up on Node 20, which cannot cache ES modules
// (module.enableCompileCache is Node 22). Builds the CLI as one CommonJS file in a temporary
// directory, loads it through vm.Script with the code cache it wrote on a first run (same V8 flags
// as bin/slicewise.js), and times `--version` that way against the ES module bundle of
// dist/bundle, interleaved, under GNU time: median wall time and peak RSS of RUNS runs each.
//
//   npm run build && node bench/code-cache.mjs [RUNS]
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { buildCliCjs, CLI_V8_FLAGS as FLAGS } from "./support/cli-cjs.mjs"

const RUNS = Number(process.argv[2] ?? 11)
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-code-cache-"))
const bundle = path.join(dir, "slicewise.cjs")

await buildCliCjs(path.join(REPO, "src/cli/main.ts"), bundle, {
  define: { "import.meta.url": "__importMetaUrl" },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" }
})

// The loader: the bundle compiled with the cache when there is one, the cache written when asked.
const loader = path.join(dir, "load.mjs")
fs.writeFileSync(
  loader,
  `import vm from "node:vm"
import fs from "node:fs"
import { createRequire } from "node:module"
const file = ${JSON.stringify(bundle)}
const cache = file + ".cache"
const cachedData = fs.existsSync(cache) ? fs.readFileSync(cache) : undefined
const script = new vm.Script("(function (exports, require, module, __filename, __dirname) {" + fs.readFileSync(file, "utf8") + "\\n})", { filename: file, cachedData })
if (cachedData !== undefined && script.cachedDataRejected) throw new Error("code cache rejected")
if (process.env.WRITE_CODE_CACHE) process.on("exit", () => fs.writeFileSync(cache, script.createCachedData()))
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(file), module, file, ${JSON.stringify(dir)})
`
)
execFileSync("node", [...FLAGS, loader, "--version"], { env: { ...process.env, WRITE_CODE_CACHE: "1" } })

const timed = (args) => {
  const { stderr } = spawnSync("/usr/bin/time", ["-f", "%e %M", "node", ...FLAGS, ...args, "--version"], { encoding: "utf8" })
  const [wall, kib] = stderr.trim().split("\n").pop().split(" ").map(Number)
  return { wall, mib: kib / 1024 }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const esm = [], cached = []
for (let i = 0; i < RUNS; i++) {
  esm.push(timed([path.join(REPO, "dist/bundle/slicewise.mjs")]))
  cached.push(timed([loader]))
}
const show = (name, rs) =>
  console.log(`${name.padEnd(44)} wall ${median(rs.map((r) => r.wall)).toFixed(3)} s   peak RSS ${median(rs.map((r) => r.mib)).toFixed(1)} MiB`)
show("ES module bundle (dist/bundle), --version", esm)
show("one CommonJS file + code cache, --version", cached)
console.log(`code cache ${(fs.statSync(bundle + ".cache").size / 2 ** 20).toFixed(2)} MiB, bundle ${(fs.statSync(bundle).size / 2 ** 20).toFixed(2)} MiB (${RUNS} runs each, interleaved)`)
fs.rmSync(dir, { recursive: true, force: true })
