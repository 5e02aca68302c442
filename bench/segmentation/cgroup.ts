/**
 * Memory cgroups (the kernel's cgroup v1 memory controller, /sys/fs/cgroup/memory) for the
 * segmentation bench: one per runner, made under the cgroup this process is in (so what the runners
 * use still counts where this process counts), with a hard limit on memory and on memory + swap, so
 * that the kernel's OOM killer, not the runner's own bookkeeping, enforces it. Needs root.
 *
 *   const g = makeMemoryCgroup("sw-bench-r1", 2 ** 30)   // null limit: accounting only
 *   g.add(child.pid)                                      // before it starts anything; children inherit it
 *   g.counters()                                          // { failcnt, oomKills, maxUsageBytes, … }
 *   g.remove()                                            // kills what is left in it, then removes it
 *
 * Used by bench/segmentation/run.ts.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const ROOT = "/sys/fs/cgroup/memory"

export interface CgroupCounters {
  /** How often usage hit the limit (memory.failcnt)… */
  readonly failcnt: number
  /** …and the memory + swap limit (memory.memsw.failcnt; 0 where there is none). */
  readonly memswFailcnt: number
  /** Processes the OOM killer killed in this cgroup (memory.oom_control's oom_kill). */
  readonly oomKills: number
  /** Highest usage, page cache included (memory.max_usage_in_bytes). */
  readonly maxUsageBytes: number
  /** The limit as the kernel holds it (memory.limit_in_bytes). */
  readonly limitBytes: number
}

export interface MemoryCgroup {
  readonly path: string
  readonly add: (pid: number) => void
  readonly counters: () => CgroupCounters
  readonly pids: () => ReadonlyArray<number>
  readonly remove: () => void
}

/** The memory cgroup this process is in (from /proc/self/cgroup), as a directory. */
const ownCgroup = (): string => {
  const line = fs
    .readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((l) => l.split(":")[1]?.split(",").includes("memory"))
  if (line === undefined || !fs.existsSync(ROOT)) throw new Error(`no cgroup v1 memory controller at ${ROOT} (the OOM comparison needs it)`)
  return path.join(ROOT, line.split(":")[2]!)
}

/** Whether a memory cgroup can be made here (root and the v1 controller). */
export const cgroupsUsable = (): boolean => {
  try {
    return process.getuid?.() === 0 && fs.existsSync(path.join(ownCgroup(), "cgroup.procs"))
  } catch {
    return false
  }
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), "utf8")
const write = (dir: string, file: string, value: string) => fs.writeFileSync(path.join(dir, file), value)

const procsOf = (dir: string): Array<number> =>
  read(dir, "cgroup.procs")
    .split("\n")
    .filter((l) => l !== "")
    .map(Number)

/** Makes (or empties and reuses) the cgroup `name`; `limitBytes` null sets no limit. */
export const makeMemoryCgroup = (name: string, limitBytes: number | null): MemoryCgroup => {
  const dir = path.join(ownCgroup(), name)
  if (fs.existsSync(dir)) removeCgroup(dir)
  fs.mkdirSync(dir)
  if (limitBytes !== null) {
    write(dir, "memory.limit_in_bytes", String(limitBytes))
    // memory + swap: there is no swap here, but where there is, the limit must not leak into it.
    if (fs.existsSync(path.join(dir, "memory.memsw.limit_in_bytes"))) write(dir, "memory.memsw.limit_in_bytes", String(limitBytes))
  }
  return {
    path: dir,
    add: (pid) => write(dir, "cgroup.procs", String(pid)),
    pids: () => procsOf(dir),
    counters: () => ({
      failcnt: Number(read(dir, "memory.failcnt")),
      memswFailcnt: fs.existsSync(path.join(dir, "memory.memsw.failcnt")) ? Number(read(dir, "memory.memsw.failcnt")) : 0,
      oomKills: Number(/oom_kill (\d+)/.exec(read(dir, "memory.oom_control"))?.[1] ?? NaN),
      maxUsageBytes: Number(read(dir, "memory.max_usage_in_bytes")),
      limitBytes: Number(read(dir, "memory.limit_in_bytes"))
    }),
    remove: () => removeCgroup(dir)
  }
}

/** Kills every process left in the cgroup (SIGKILL), waits for it to empty, removes it. */
const removeCgroup = (dir: string): void => {
  for (let round = 0; round < 50; round++) {
    const pids = procsOf(dir)
    if (pids.length === 0) break
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // gone already
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100)
  }
  fs.rmdirSync(dir)
}
