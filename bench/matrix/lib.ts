/**
 * Shared pieces of the benchmark matrix (run.ts) and the regression guard (guard.ts): the ops and
 * their steps, input generation, running one backend under GNU time, and formatting.
 * Node built-ins only; the library itself is only reached through the built CLI and
 * bench/make-volume.ts, each in its own process.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const PYTHON = "/usr/bin/python3"
export const GNU_TIME = "/usr/bin/time"
/** The ITK backend's program, built by bench/peers/itk/build.sh (not by npm: needs Debian's ITK). */
export const ITK_PROGRAM = path.join(REPO, "bench/peers/itk/build/matrix_itk")

export interface Op {
  /** Short id used on the command line and in results. */
  readonly id: string
  /** slicewise steps. */
  readonly steps: ReadonlyArray<string>
  /** The op for bench/peers/matrix_ops.py (and bench/peers/itk/matrix_itk, which takes the same). */
  readonly peer: string
  /** Bytes per voxel scipy holds at its peak beside the input, roughly (for the memory check; ITK's too). */
  readonly peerBytesPerVoxel: (inputBytesPerVoxel: number) => number
}

const filter = (b: number) => 3 * b + 8
export const OPS: ReadonlyArray<Op> = [
  { id: "copy", steps: ["copy"], peer: "copy", peerBytesPerVoxel: (b) => b },
  { id: "threshold", steps: ["threshold:min=128"], peer: "threshold:128", peerBytesPerVoxel: (b) => b + 1 },
  { id: "uniform3", steps: ["uniform:size=3"], peer: "uniform:3", peerBytesPerVoxel: filter },
  { id: "uniform5", steps: ["uniform:size=5"], peer: "uniform:5", peerBytesPerVoxel: filter },
  { id: "uniform7", steps: ["uniform:size=7"], peer: "uniform:7", peerBytesPerVoxel: filter },
  { id: "gaussian2", steps: ["gaussian:sigma=2"], peer: "gaussian:2", peerBytesPerVoxel: filter },
  { id: "median1", steps: ["median:radius=1"], peer: "median:1", peerBytesPerVoxel: (b) => 2 * b },
  { id: "median3", steps: ["median:radius=3"], peer: "median:3", peerBytesPerVoxel: (b) => 2 * b },
  {
    id: "dilate1",
    steps: ["threshold:min=128", "dilate:radius=1,footprint=ball"],
    peer: "dilate:1",
    peerBytesPerVoxel: (b) => b + 3
  },
  {
    id: "dilate3",
    steps: ["threshold:min=128", "dilate:radius=3,footprint=ball"],
    peer: "dilate:3",
    peerBytesPerVoxel: (b) => b + 3
  },
  {
    id: "label26",
    steps: ["threshold:min=128", "label:connectivity=26"],
    peer: "label:26",
    peerBytesPerVoxel: (b) => b + 1 + 4 + 4
  },
  // distance_transform_edt: a bool mask, int32 feature indices (3 × 4 B), float64 distances, float32 copy.
  { id: "edt", steps: ["threshold:min=128", "edt"], peer: "edt", peerBytesPerVoxel: (b) => b + 1 + 12 + 8 + 4 }
]

export const opById = (id: string): Op => {
  const op = OPS.find((o) => o.id === id)
  if (op === undefined) throw new Error(`unknown op ${id}; known: ${OPS.map((o) => o.id).join(", ")}`)
  return op
}

export const BACKENDS = ["slicewise", "scipy", "dask", "itk"] as const
export type Backend = (typeof BACKENDS)[number]
export const INPUTS = ["ramp", "structured"] as const
export const DTYPES = ["uint8", "uint16", "float32"] as const
export const BYTES: Record<string, number> = { uint8: 1, uint16: 2, float32: 4 }

// ---------------------------------------------------------------------------------------------
// Arguments

export const parseArgs = (argv: ReadonlyArray<string>) => {
  const flags = new Map<string, string>()
  const bools = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`)
    const eq = a.indexOf("=")
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1))
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) flags.set(a.slice(2), argv[++i]!)
    else bools.add(a.slice(2))
  }
  return {
    str: (name: string, fallback: string) => flags.get(name) ?? fallback,
    list: (name: string, fallback: ReadonlyArray<string>) =>
      flags.has(name) ? flags.get(name)!.split(",").filter((s) => s.length > 0) : [...fallback],
    bool: (name: string) => bools.has(name) || flags.get(name) === "true",
    has: (name: string) => flags.has(name) || bools.has(name)
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

export const caseDir = (data: string, input: string, dtype: string, size: number) =>
  path.join(data, "in", `${input}-${dtype}-${size}`)

const sh = (cmd: string, args: ReadonlyArray<string>, cwd = REPO) => {
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`)
  return r.stdout.trim()
}

/** The input TIFF stack (made once; a `.complete` marker says it was finished). */
export const ensureInput = (data: string, input: string, dtype: string, size: number, log: (s: string) => void) => {
  const dir = caseDir(data, input, dtype, size)
  if (fs.existsSync(path.join(dir, ".complete"))) return dir
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(dir), { recursive: true })
  const t0 = Date.now()
  const make = () =>
    sh("npx", ["tsx", "bench/make-volume.ts", `${dir}/`, "--shape", `${size},${size},${size}`, "--dtype", dtype, "--kind", input])
  try {
    make()
  } catch (e) {
    // make-volume runs this checkout's sources: a file caught mid-edit by someone else fails it.
    log(`  making ${dir} failed, trying once more in 30 s: ${e instanceof Error ? e.message.split("\n").pop() : String(e)}`)
    spawnSync("sleep", ["30"])
    fs.rmSync(dir, { recursive: true, force: true })
    make()
  }
  fs.writeFileSync(path.join(dir, ".complete"), "")
  log(`  made ${dir} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  return dir
}

/** The Zarr v2 copy of the input for dask (uncompressed, chunks c³). */
export const ensureZarr = (data: string, input: string, dtype: string, size: number, chunk: number, log: (s: string) => void) => {
  const dst = path.join(data, "zarr", `${input}-${dtype}-${size}-c${chunk}.zarr`)
  if (fs.existsSync(dst)) return dst
  fs.mkdirSync(path.dirname(dst), { recursive: true })
  fs.rmSync(`${dst}.partial`, { recursive: true, force: true })
  const t0 = Date.now()
  sh(PYTHON, ["bench/peers/matrix_tozarr.py", caseDir(data, input, dtype, size), dst, String(chunk)])
  log(`  made ${dst} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  return dst
}

// ---------------------------------------------------------------------------------------------
// Running one backend

/**
 * `env <the shebang's settings> node <its flags> CLI`: the built CLI as `slicewise` runs it (the
 * flags and the malloc settings matter for RSS).
 */
export const slicewiseCommand = (cli: string): Array<string> => {
  const first = fs.readFileSync(cli, "utf8").split("\n")[0]!
  const m = /^#!\/usr\/bin\/env\s+(?:-S\s+)?((?:\w+=\S*\s+)*)node\s*(.*)$/.exec(first)
  const words = (s: string | undefined) => (s ?? "").split(/\s+/).filter((w) => w.length > 0)
  return ["env", ...words(m?.[1]), "node", ...words(m?.[2]), cli]
}

export const backendCommand = (
  backend: Backend,
  op: Op,
  io: { input: string; zarr?: string; output: string; cli: string }
): Array<string> | undefined => {
  switch (backend) {
    case "slicewise":
      return [...slicewiseCommand(io.cli), "run", `${io.input}/`, `${io.output}/`, ...op.steps]
    case "scipy":
      return [PYTHON, path.join(REPO, "bench/peers/matrix_scipy.py"), io.input, io.output, op.peer]
    case "dask":
      if (op.id === "label26" || op.id === "edt") return undefined
      return [PYTHON, path.join(REPO, "bench/peers/matrix_dask.py"), io.zarr!, io.output, op.peer]
    case "itk":
      requireItk()
      return [ITK_PROGRAM, io.input, io.output, op.peer]
  }
}

/** Throws unless the ITK backend's program is built. */
export const requireItk = () => {
  if (!fs.existsSync(ITK_PROGRAM))
    throw new Error(`${shortPath(ITK_PROGRAM)} is not built: run bench/peers/itk/build.sh (or leave itk out of --backends)`)
}

/** ITK's version from the built program (`matrix_itk --version`), or undefined when not built. */
export const itkVersion = (): string | undefined => (fs.existsSync(ITK_PROGRAM) ? tryRun(ITK_PROGRAM, ["--version"]) : undefined)

export interface Measurement {
  readonly wallS: number
  readonly rssKiB: number
  readonly userS: number
  readonly sysS: number
  readonly exit: number
  readonly load1: number
  readonly date: string
  readonly timedOut?: boolean
}

const parseClock = (s: string) => s.split(":").reduce((a, x) => a * 60 + Number(x), 0)

/** Runs `cmd` under `GNU time -v`, output and errors to `log`; kills the process group on timeout. */
/**
 * Reads every file under `dir` once, so that the run measured next finds its input in the page
 * cache as the others did: the kernel's reclaim (DAMON here) drops pages a minute old, and the
 * first backend of a case would otherwise read from the disk for the rest.
 */
export const warmPageCache = (dir: string): void => {
  const chunk = Buffer.allocUnsafe(1 << 20)
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const fd = fs.openSync(path.join(entry.parentPath ?? entry.path, entry.name), "r")
    try {
      while (fs.readSync(fd, chunk, 0, chunk.length, null) > 0) {
        /* read on */
      }
    } finally {
      fs.closeSync(fd)
    }
  }
}

export const measure = (cmd: ReadonlyArray<string>, timeFile: string, log: string, timeoutS: number): Promise<Measurement> =>
  new Promise((resolve, reject) => {
    const load1 = os.loadavg()[0]!
    const date = new Date().toISOString()
    const out = fs.openSync(log, "w")
    const child = spawn(GNU_TIME, ["-v", "-o", timeFile, ...cmd], { cwd: REPO, detached: true, stdio: ["ignore", out, out] })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {
        /* already gone */
      }
    }, timeoutS * 1000)
    const onSignal = () => {
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {
        /* already gone */
      }
      process.exit(130)
    }
    process.once("SIGINT", onSignal)
    child.on("error", reject)
    child.on("close", () => {
      clearTimeout(timer)
      process.off("SIGINT", onSignal)
      fs.closeSync(out)
      let t = ""
      try {
        t = fs.readFileSync(timeFile, "utf8")
      } catch {
        /* time was killed */
      }
      const field = (re: RegExp) => re.exec(t)?.[1]
      const exitText = field(/Exit status: (\d+)/)
      resolve({
        wallS: parseClock(field(/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.*)/) ?? "NaN"),
        rssKiB: Number(field(/Maximum resident set size \(kbytes\): (\d+)/) ?? NaN),
        userS: Number(field(/User time \(seconds\): ([\d.]+)/) ?? NaN),
        sysS: Number(field(/System time \(seconds\): ([\d.]+)/) ?? NaN),
        exit: timedOut ? 137 : exitText === undefined ? (/terminated by signal/.test(t) ? 128 : -1) : Number(exitText),
        load1,
        date,
        ...(timedOut ? { timedOut } : {})
      })
    })
  })

export interface Comparison {
  readonly differing: number
  readonly maxAbs: number
  readonly maxUlp: number
  readonly voxels: number
  readonly sameShape?: boolean
  readonly sameDtype?: boolean
  readonly dtypeA?: string
  readonly dtypeB?: string
  readonly detail?: string
}

export const compareStacks = (a: string, b: string): Comparison =>
  JSON.parse(sh(PYTHON, ["bench/peers/matrix_compare.py", a, b]).split("\n").pop()!) as Comparison

// ---------------------------------------------------------------------------------------------
// Environment and formatting

export const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2
}

export const memAvailableBytes = (): number => {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync("/proc/meminfo", "utf8"))
    return m ? Number(m[1]) * 1024 : os.freemem()
  } catch {
    return os.freemem()
  }
}

export const machine = () => ({
  host: os.hostname(),
  cpu: os.cpus()[0]?.model ?? "?",
  cores: os.cpus().length,
  memGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  os: `${os.type()} ${os.release()}`
})

const tryRun = (cmd: string, args: ReadonlyArray<string>) => {
  try {
    return sh(cmd, args)
  } catch {
    return undefined
  }
}

export interface Versions {
  readonly node: string
  readonly slicewiseCli: string
  readonly commit: string
  readonly dirty: boolean
  readonly [tool: string]: string | boolean
}

/** The Node that runs slicewise: the one on PATH, as `env … node` in slicewiseCommand finds it. */
export const slicewiseNode = (): string => tryRun("node", ["--version"]) ?? process.version

export const versions = (cli: string, commit?: string): Versions => {
  const py = tryRun(PYTHON, [
    "-c",
    "import json, platform, numpy, scipy, skimage, dask, zarr, tifffile; print(json.dumps({'python': platform.python_version(), 'numpy': numpy.__version__, 'scipy': scipy.__version__, 'skimage': skimage.__version__, 'dask': dask.__version__, 'zarr': zarr.__version__, 'tifffile': tifffile.__version__}))"
  ])
  const cliRoot = path.resolve(path.dirname(cli), "..")
  return {
    node: slicewiseNode(),
    ...(py ? (JSON.parse(py) as Record<string, string>) : {}),
    slicewiseCli: cli,
    // Read-only git queries: the commit the CLI's checkout is at, and whether its sources differ from it.
    // (--commit names it where the CLI was built from an export of a commit rather than a checkout).
    commit: commit ?? tryRun("git", ["-C", cliRoot, "rev-parse", "HEAD"]) ?? "(not a git checkout)",
    dirty: commit === undefined && (tryRun("git", ["-C", cliRoot, "status", "--porcelain", "--", "src"]) ?? "").length > 0
  }
}

/** A path relative to the repository if inside it, else absolute. */
export const shortPath = (p: string) => {
  const r = path.relative(REPO, p)
  return r.startsWith("..") ? p : r
}

export const mib = (kib: number) => kib / 1024
export const fmtS = (s: number | undefined) =>
  s === undefined || !Number.isFinite(s) ? "–" : s < 10 ? `${s.toFixed(2)} s` : s < 100 ? `${s.toFixed(1)} s` : `${s.toFixed(0)} s`
export const fmtMiB = (kib: number | undefined) =>
  kib === undefined || !Number.isFinite(kib) ? "–" : `${mib(kib).toFixed(mib(kib) < 100 ? 1 : 0)} MiB`
export const fmtRatio = (r: number | undefined) => (r === undefined || !Number.isFinite(r) ? "–" : `${r.toFixed(2)}`)
/** CPU time (user + system) of a run, seconds. */
export const cpuS = (m: Measurement) => m.userS + m.sysS

export const writeJsonAtomic = (file: string, value: unknown) => {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 1)}\n`)
  fs.renameSync(tmp, file)
}
