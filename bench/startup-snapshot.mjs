// What a V8 start-up snapshot would take off the CLI's start-up on Node 20 (node --build-snapshot,
// a user-land snapshot: one CommonJS file, its modules evaluated when the snapshot is built, the
// command run when it is deserialized). Builds the CLI that way in a temporary directory and times
// `--version` and a copy of STACK against bin/slicewise.js, interleaved, under GNU time: median wall,
// CPU and peak RSS of RUNS runs each. A feasibility measurement, not a way the CLI starts.
//
//   npm run build && node bench/startup-snapshot.mjs STACK [RUNS]     (STACK: a TIFF stack directory)
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { buildCliCjs, CLI_V8_FLAGS as FLAGS } from "./support/cli-cjs.mjs"

const [stack, runsArg] = process.argv.slice(2)
const RUNS = Number(runsArg ?? 9)
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-snapshot-"))
const bundle = path.join(dir, "slicewise.cjs")

// main.ts runs the command when it is evaluated: from its `const environment` on, that part
// becomes a function the snapshot's main calls.
const deferMain = {
  name: "defer-main",
  setup(b) {
    b.onLoad({ filter: /src[\\/]cli[\\/]main\.ts$/ }, (args) => {
      const text = fs.readFileSync(args.path, "utf8")
      const at = text.indexOf("\nconst environment = ")
      if (at < 0) throw new Error("main.ts: no `const environment =` to defer")
      return { contents: `${text.slice(0, at)}\nexport const runCli = () => {${text.slice(at)}\n}\n`, loader: "ts" }
    })
  }
}
fs.writeFileSync(
  path.join(dir, "entry.ts"),
  `import { runCli } from ${JSON.stringify(path.join(REPO, "src/cli/main.ts"))}
import * as v8 from "node:v8"
v8.startupSnapshot.setDeserializeMainFunction(() => { process.argv.splice(1, 0, ${JSON.stringify(bundle)}); runCli() })
`
)
await buildCliCjs(path.join(dir, "entry.ts"), bundle, {
  plugins: [deferMain],
  define: { "import.meta.url": JSON.stringify(`file://${REPO}/dist/bundle/slicewise.mjs`) }
})
const blob = path.join(dir, "slicewise.blob")
execFileSync("node", [...FLAGS, "--snapshot-blob", blob, "--build-snapshot", bundle], { stdio: "inherit", cwd: dir })

const out = path.join(dir, "out")
const timed = (cmd, args) => {
  fs.rmSync(out, { recursive: true, force: true })
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", ...cmd, ...args], { encoding: "utf8", env: { ...process.env, MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_TRIM_THRESHOLD_: "131072" } })
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`)
  const [wall, user, sys, kib] = r.stderr.trim().split("\n").pop().split(" ").map(Number)
  return { wall, cpu: user + sys, mib: kib / 1024 }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const show = (name, rs) =>
  console.log(
    `${name.padEnd(40)} wall ${median(rs.map((r) => r.wall)).toFixed(2)} s   cpu ${median(rs.map((r) => r.cpu)).toFixed(2)} s   peak RSS ${median(rs.map((r) => r.mib)).toFixed(1)} MiB`
  )
const cases = [["--version"], ...(stack === undefined ? [] : [["run", stack.replace(/\/?$/, "/"), `${out}/`, "copy"]])]
for (const args of cases) {
  const esm = [], snap = []
  for (let i = 0; i < RUNS; i++) {
    esm.push(timed(["node", ...FLAGS, path.join(REPO, "bin/slicewise.js")], args))
    snap.push(timed(["node", "--snapshot-blob", blob, ...FLAGS, "--"], args))
  }
  show(`bin/slicewise.js ${args[0]}`, esm)
  show(`start-up snapshot ${args[0]}`, snap)
}
console.log(`snapshot ${(fs.statSync(blob).size / 2 ** 20).toFixed(1)} MiB, ${RUNS} runs each, interleaved`)
fs.rmSync(dir, { recursive: true, force: true })
