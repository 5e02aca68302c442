/**
 * The machine a bench ran on, as the generated page states it: CPU model and cores, memory, kernel,
 * Node and elastix versions, the commit of the checkout (and whether it had local changes), and
 * the load average (taken at the start and at the end of the run).
 *
 *   const m = machine()      // { cpu: "…", cores: 2, memoryBytes: …, node: "v20…", elastix: "5.0.1", … }
 *
 * Used by bench/segmentation/run.ts.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import { ROOT } from "./processes.js"

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryBytes: number
  readonly kernel: string
  readonly node: string
  readonly elastix: string
  readonly commit: string
  readonly swapBytes: number
}

const run = (cmd: string, args: ReadonlyArray<string>): string => {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return "?"
  }
}

export const machine = (): Machine => {
  const dirty = run("git", ["status", "--porcelain", "--untracked-files=no"]) !== ""
  const swap = /SwapTotal:\s+(\d+) kB/.exec(fs.readFileSync("/proc/meminfo", "utf8"))
  return {
    cpu: os.cpus()[0]?.model.trim() ?? "?",
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    kernel: os.release(),
    node: process.version,
    elastix: run("elastix", ["--version"]).replace(/^elastix version:\s*/, ""),
    commit: `${run("git", ["rev-parse", "--short", "HEAD"])}${dirty ? " with uncommitted changes" : ""}`,
    swapBytes: swap ? Number(swap[1]) * 1024 : 0
  }
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export const loadAverage = (): string => os.loadavg().map((l) => l.toFixed(2)).join(", ")
