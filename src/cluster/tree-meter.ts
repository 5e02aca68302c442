/**
 * A meter of a process and its descendants (a runner and the external tools it runs), read from
 * /proc each time it is called: the tree's resident memory now, and its CPU use and I/O rates since
 * the previous call. Counters of a process that ended are kept at their last reading, so a tool
 * that exits between two calls still counts for what was seen of it; what it did after the last
 * reading is lost (the kernel gives a parent no I/O figures of its reaped children). Where /proc
 * or /proc/PID/io is missing, the figures are 0 or the I/O is absent, not guessed.
 *
 * @example
 * ```ts
 * const meter = treeMeter(process.pid)
 * setInterval(() => console.log(meter()), 1000)   // { rssBytes, cpuPercent, io? }
 * ```
 */
import { processTree, processUsage } from "../jobs/exec/peak-rss.js"
import { readIoCounters, type IoCounters } from "../profile/sampler.js"
import type { RunnerSample } from "../profile/cluster-page.js"

interface Totals extends IoCounters {
  readonly cpuMs: number
}

const ZERO: Totals = { cpuMs: 0, rchar: 0, wchar: 0, readBytes: 0, writeBytes: 0 }

const add = (a: Totals, b: Totals): Totals => ({
  cpuMs: a.cpuMs + b.cpuMs,
  rchar: a.rchar + b.rchar,
  wchar: a.wchar + b.wchar,
  readBytes: a.readBytes + b.readBytes,
  writeBytes: a.writeBytes + b.writeBytes
})

export interface TreeReading {
  readonly rssBytes: number
  /** % of one core since the previous reading. */
  readonly cpuPercent: number
  /** Bytes per second since the previous reading; absent where /proc/PID/io cannot be read. */
  readonly io?: RunnerSample["io"]
}

/** Reads the tree under `root` on each call. */
export const treeMeter = (root: number): (() => TreeReading) => {
  let live = new Map<number, Totals>()
  let ended = ZERO
  let last: { readonly ms: number; readonly totals: Totals } | undefined
  return () => {
    const now = new Map<number, Totals>()
    let rssBytes = 0
    let ioSeen = false
    for (const pid of processTree(root)) {
      const usage = processUsage(pid)
      if (usage === undefined) continue
      rssBytes += usage.rssBytes
      const io = readIoCounters(pid)
      ioSeen ||= io !== undefined
      const before = live.get(pid) ?? ZERO
      now.set(pid, { ...before, ...io, cpuMs: usage.cpuMs ?? before.cpuMs })
    }
    for (const [pid, t] of live) if (!now.has(pid)) ended = add(ended, t)
    live = now
    const totals = [...now.values()].reduce(add, ended)
    const ms = performance.now()
    const prev = last ?? { ms, totals }
    last = { ms, totals }
    // Counters only grow; a drop (a pid reused within one interval) counts as nothing, not as negative.
    const perSecond = (d: number) => (ms > prev.ms ? Math.max(0, d) / ((ms - prev.ms) / 1000) : 0)
    return {
      rssBytes,
      cpuPercent: ms > prev.ms ? (Math.max(0, totals.cpuMs - prev.totals.cpuMs) / (ms - prev.ms)) * 100 : 0,
      ...(ioSeen
        ? {
            io: {
              readBytesPerSecond: perSecond(totals.rchar - prev.totals.rchar),
              writeBytesPerSecond: perSecond(totals.wchar - prev.totals.wchar),
              diskReadBytesPerSecond: perSecond(totals.readBytes - prev.totals.readBytes),
              diskWriteBytesPerSecond: perSecond(totals.writeBytes - prev.totals.writeBytes)
            }
          }
        : {})
    }
  }
}
