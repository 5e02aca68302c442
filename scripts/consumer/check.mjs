// The package as a user gets it: packs this repository (its dist/ as built: run `npm run build`
// first, or use `npm run test:consumer`), installs the tarball into a fresh project in a temporary
// directory, type-checks consumer.ts there under moduleResolution node16 and bundler with this
// repository's TypeScript, runs it with node, and runs the installed CLI. Then it installs the
// optional peer dependencies of slicewise/cluster (the versions of this repository's
// devDependencies) into the same project, type-checks cluster-consumer.ts and runs it: a cluster
// in one process that runs a pipeline of two jobs. Everything before that runs without them.
//
//   node scripts/consumer/check.mjs [--keep]
//
// Prints one line per check, "ok - NAME" or "not ok - NAME: why" (.ci/run counts them), and
// exits non-zero if any failed. A check whose prerequisite failed is "not ok" too, so the number
// of lines is always the same. The install uses the npm cache (--prefer-offline); `npm ci` has
// filled it. --keep leaves the temporary directory (its path is printed).
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const repo = path.resolve(here, "../..")
const keep = process.argv.includes("--keep")
const tsc = path.join(repo, "node_modules/typescript/bin/tsc")
const pkg = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8"))
const typesNode = JSON.parse(fs.readFileSync(path.join(repo, "node_modules/@types/node/package.json"), "utf8")).version
// The steps consumer.ts runs through the library, and the CLI below (keep the two lists equal).
const STEPS = ["gaussian:sigma=1", "median:radius=1", "threshold:min=900"]

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-consumer-"))
const project = path.join(tmp, "project")
const data = path.join(tmp, "data")
let failures = 0

/** Runs a command; returns its output, or throws with the tail of it. */
const run = (cmd, args, cwd, options = {}) => {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, ...options.env }, timeout: options.timeout ?? 300_000 })
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`
  if (r.status !== 0) {
    const tail = out.trim().split("\n").slice(-25).join("\n")
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status ?? r.signal ?? r.error}\n${tail}`)
  }
  return out
}

const done = new Set()
/** One check: "ok" or "not ok"; skipped (not ok) when a check it needs did not pass. */
const check = (name, needs, body) => {
  const missing = needs.filter((n) => !done.has(n))
  const started = performance.now()
  if (missing.length > 0) {
    failures++
    console.log(`not ok - ${name}: skipped, needs ${missing.join(", ")}`)
    return
  }
  try {
    const note = body()
    done.add(name)
    console.log(`ok - ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)${note ? `: ${note}` : ""}`)
  } catch (e) {
    failures++
    console.log(`not ok - ${name}: ${e instanceof Error ? e.message : String(e)}`)
  }
}

let tarball = ""
check("consumer: npm pack", [], () => {
  const out = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], repo)
  const info = JSON.parse(out.slice(out.indexOf("[")))[0]
  tarball = path.join(tmp, info.filename)
  return `${info.filename}, ${info.entryCount} files, ${(info.size / 2 ** 20).toFixed(1)} MiB`
})

check("consumer: the tarball holds what runs and no tests", ["consumer: npm pack"], () => {
  const files = run("tar", ["tzf", tarball], tmp)
    .split("\n")
    .filter((f) => f !== "")
    .map((f) => f.replace(/^package\//, ""))
  const have = new Set(files)
  const problems = []
  const targets = new Set(["bin/slicewise.js", "LICENSE", "README.md", "package.json", "dist/bundle/slicewise.mjs"])
  targets.add("dist/bundle/slicewise-worker.mjs")
  targets.add("dist/interpreters/run/threads/worker.js")
  for (const entry of Object.values(pkg.exports)) {
    for (const target of typeof entry === "string" ? [entry] : Object.values(entry)) targets.add(target.replace(/^\.\//, ""))
  }
  for (const t of targets) if (!have.has(t)) problems.push(`missing ${t}`)
  const unwanted = /^(test|src|bench|examples|docs|scripts|\.ci)\/|(^|\/)fixtures?\/|\.test\.|^dist\/cli\/|\.js\.map$|^tsconfig|^vitest/
  for (const f of files) if (unwanted.test(f)) problems.push(`should not hold ${f}`)
  // tsc never removes what it emitted for a module since moved or deleted: `npm run clean` does.
  for (const f of files) {
    const m = /^dist\/(?!bundle\/)(.*)\.(js|d\.ts)$/.exec(f)
    if (m !== null && !fs.existsSync(path.join(repo, "src", `${m[1]}.ts`))) problems.push(`${f} is stale (no src/${m[1]}.ts; npm run clean && npm run build)`)
  }
  if (problems.length > 0) throw new Error(problems.slice(0, 20).join("; "))
  return `${files.length} files, every exports target present`
})

check("consumer: npm i the tarball into a fresh project", ["consumer: npm pack"], () => {
  fs.mkdirSync(project, { recursive: true })
  fs.mkdirSync(data, { recursive: true })
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "slicewise-consumer", private: true, type: "module" }, null, 2))
  for (const f of ["consumer.ts", "tsconfig.node16.json", "tsconfig.bundler.json", "cluster-consumer.ts", "tsconfig.cluster-node16.json", "tsconfig.cluster-bundler.json"]) {
    fs.copyFileSync(path.join(here, f), path.join(project, f))
  }
  run("npm", ["install", tarball, `@types/node@${typesNode}`, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], project)
  const installed = JSON.parse(fs.readFileSync(path.join(project, "node_modules/slicewise/package.json"), "utf8"))
  return `slicewise ${installed.version}`
})

/**
 * tsc over consumer.ts with skipLibCheck off, so that slicewise's own .d.ts files are checked too.
 * Errors in other packages' declarations are tolerated (zarrita's need the DOM library, numcodecs'
 * lack file extensions under node16): they are not ours to fix, and a user's skipLibCheck hides
 * them. Any error in consumer.ts or in node_modules/slicewise fails.
 */
const typeCheck = (config) => {
  const r = spawnSync("node", [tsc, "-p", config, "--pretty", "false"], { cwd: project, encoding: "utf8" })
  const errors = `${r.stdout}${r.stderr}`.split("\n").filter((l) => /error TS\d+/.test(l))
  const ours = errors.filter((l) => !l.startsWith("node_modules/") || l.startsWith("node_modules/slicewise/"))
  if (ours.length > 0 || (r.status !== 0 && errors.length === 0)) throw new Error(`tsc -p ${config}:\n${(ours.length > 0 ? ours : [r.stdout, r.stderr]).join("\n")}`)
  return errors.length === 0 ? "" : `${errors.length} error(s) in other packages' declarations tolerated`
}

const installed = ["consumer: npm i the tarball into a fresh project"]
check("consumer: type-check, moduleResolution node16", installed, () => typeCheck("tsconfig.node16.json"))
check("consumer: type-check, moduleResolution bundler", installed, () => typeCheck("tsconfig.bundler.json"))

check("consumer: plan, cost, run (2 threads) = memory", ["consumer: type-check, moduleResolution node16"], () => {
  const out = run("node", ["out/consumer.js", data], project)
  if (!out.includes("consumer: every check passed")) throw new Error(`no final line in\n${out.slice(-2000)}`)
  return out.split("\n").find((l) => l.startsWith("run = memory")) ?? ""
})

check("consumer: npx slicewise --version", installed, () => {
  const out = run("npx", ["--no", "--", "slicewise", "--version"], project).trim()
  if (!out.includes(pkg.version)) throw new Error(`printed ${JSON.stringify(out)}, not ${pkg.version}`)
  return out
})

check("consumer: npx slicewise run = the library's run", ["consumer: plan, cost, run (2 threads) = memory"], () => {
  const output = path.join(data, "cli.tif")
  run("npx", ["--no", "--", "slicewise", "run", path.join(data, "input.tif"), output, ...STEPS, "--threads", "2"], project)
  return run("node", ["out/consumer.js", "compare", path.join(data, "library.tif"), output], project).trim()
})

// slicewise/cluster: its packages are optional peer dependencies, installed by the user.
const PEERS = Object.keys(pkg.peerDependencies ?? {}).filter((p) => pkg.peerDependenciesMeta?.[p]?.optional === true)

check("consumer: slicewise works without the cluster's optional peers, slicewise/cluster names one missing", installed, () => {
  const present = PEERS.filter((p) => fs.existsSync(path.join(project, "node_modules", p, "package.json")))
  if (PEERS.length === 0) throw new Error("package.json declares no optional peerDependencies")
  if (present.length > 0) throw new Error(`installed without being asked: ${present.join(", ")}`)
  run("node", ["--input-type=module", "-e", 'await import("slicewise"); await import("slicewise/jobs"); await import("slicewise/batch")'], project)
  const r = spawnSync("node", ["--input-type=module", "-e", 'await import("slicewise/cluster")'], { cwd: project, encoding: "utf8" })
  const missing = /Cannot find package '([^']+)'/.exec(r.stderr ?? "")
  if (r.status === 0 || missing === null || !PEERS.includes(missing[1])) throw new Error(`import("slicewise/cluster") without its peers: exit ${r.status}\n${(r.stderr ?? "").slice(-1000)}`)
  return `import("slicewise/cluster"): Cannot find package '${missing[1]}'`
})

check("consumer: npm i slicewise/cluster's peer dependencies", installed, () => {
  const specs = PEERS.map((p) => `${p}@${pkg.devDependencies[p]}`)
  run("npm", ["install", ...specs, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], project)
  const wrong = PEERS.map((p) => [p, JSON.parse(fs.readFileSync(path.join(project, "node_modules", p, "package.json"), "utf8")).version]).filter(([p, v]) => v !== pkg.devDependencies[p])
  if (wrong.length > 0) throw new Error(`installed ${wrong.map(([p, v]) => `${p}@${v}`).join(", ")}, not this repository's versions`)
  // One copy of effect for slicewise and the peers: two would not share services and fibers.
  const effects = run("npm", ["ls", "effect", "--all", "--parseable"], project).split("\n").filter((l) => /[\\/]node_modules[\\/]effect$/.test(l.trim()))
  if (new Set(effects).size !== 1) throw new Error(`more than one effect installed:\n${[...new Set(effects)].join("\n")}`)
  return specs.join(" ")
})

const peers = ["consumer: npm i slicewise/cluster's peer dependencies"]
check("consumer: type-check slicewise/cluster, moduleResolution node16", peers, () => typeCheck("tsconfig.cluster-node16.json"))
check("consumer: type-check slicewise/cluster, moduleResolution bundler", peers, () => typeCheck("tsconfig.cluster-bundler.json"))

check("consumer: slicewise/cluster in one process: an exec job, then a run job after it, both done", ["consumer: type-check slicewise/cluster, moduleResolution node16"], () => {
  const out = run("node", ["out/cluster-consumer.js", path.join(tmp, "cluster")], project, { timeout: 120_000 })
  if (!out.includes("cluster consumer: every check passed")) throw new Error(`no final line in\n${out.slice(-2000)}`)
  return (out.split("\n").find((l) => l.startsWith("cluster: ")) ?? "").replace(/^cluster: /, "")
})

if (keep) console.log(`kept ${tmp}`)
else fs.rmSync(tmp, { recursive: true, force: true })
process.exitCode = failures === 0 ? 0 : 1
