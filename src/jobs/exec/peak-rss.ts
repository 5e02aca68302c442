/**
 * The resident memory and CPU time of a process and its descendants, sampled from /proc (Linux).
 * Node gives no rusage of a child, and GNU time would only see the one process it waits for; a
 * sampler sees the whole tree while it runs. The peak is the larger of the highest sum of VmRSS
 * over the tree at one sample and the highest VmHWM (the kernel's own peak) of any one process; a
 * peak shorter than the interval that the kernel's VmHWM of a process that ended missed is not
 * seen. Where /proc does not exist the figures stay 0.
 *
 * @example
 * ```ts
 * const sampler = treeSampler(child.pid!)
 * const timer = setInterval(() => sampler.sample(), 50)
 * // … when the child has exited:
 * clearInterval(timer); console.log(sampler.peakRssBytes, sampler.cpuMs)
 * ```
 */
import * as fs from "node:fs"

const read = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** The process and its descendants, by the `children` lists of every thread. */
export const processTree = (root: number): Array<number> => {
  const found: Array<number> = []
  const visit = (pid: number) => {
    found.push(pid)
    let tasks: Array<string> = []
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`)
    } catch {
      return
    }
    for (const t of tasks) {
      for (const c of (read(`/proc/${pid}/task/${t}/children`) ?? "").split(" ")) if (c.trim() !== "") visit(Number(c))
    }
  }
  visit(root)
  return found
}

const kib = (status: string, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)
  return m === null ? 0 : Number(m[1]) * 1024
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100

/** One process now: its resident memory, the kernel's peak of it, its CPU time (ms); undefined once gone. */
export const processUsage = (pid: number): { readonly rssBytes: number; readonly hwmBytes: number; readonly cpuMs?: number } | undefined => {
  const status = read(`/proc/${pid}/status`)
  if (status === undefined) return undefined
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = read(`/proc/${pid}/stat`)
  const rest = stat?.slice(stat.lastIndexOf(")") + 2).split(" ")
  const cpu = rest !== undefined && rest.length > 12 ? ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_SECOND : undefined
  return { rssBytes: kib(status, "VmRSS"), hwmBytes: kib(status, "VmHWM"), ...(cpu === undefined ? {} : { cpuMs: cpu }) }
}

export interface TreeSampler {
  /** Reads /proc once. */
  readonly sample: () => void
  readonly peakRssBytes: number
  /** user + system time of the processes seen, at their last sample, ms. */
  readonly cpuMs: number
}

export const treeSampler = (root: number): TreeSampler => {
  let peak = 0
  const cpuMs = new Map<number, number>()
  const sampler = {
    sample: () => {
      let sum = 0
      for (const pid of processTree(root)) {
        const usage = processUsage(pid)
        if (usage === undefined) continue
        sum += usage.rssBytes
        peak = Math.max(peak, usage.hwmBytes)
        if (usage.cpuMs !== undefined) cpuMs.set(pid, usage.cpuMs)
      }
      peak = Math.max(peak, sum)
    },
    get peakRssBytes() {
      return peak
    },
    get cpuMs() {
      let t = 0
      for (const v of cpuMs.values()) t += v
      return t
    }
  }
  return sampler
}
