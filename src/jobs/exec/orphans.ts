/**
 * Process groups left behind by a process that died. An external command runs in its own process
 * group, which its runner kills when the job ends — unless the runner itself is killed (SIGKILL,
 * the OOM killer), when the group runs on, an orphan holding memory and writing temporaries. So
 * every group is recorded in a file on this machine while it runs (`recordGroup`), and a process
 * starting later (a runner) reaps the groups whose owner is gone (`reapOrphans`): kills them and
 * removes their temporaries.
 *
 * Process ids are reused, so owner and leader are recorded with their start times (/proc/PID/stat,
 * field 22): a live process with the owner's pid but another start time is not the owner, and a
 * group whose leader's pid now belongs to another process has ended (a group id is not reused
 * while any member lives).
 *
 * @example
 * ```ts
 * const forget = recordGroup(child.pid, [temporaryOutput, workDir])   // after spawning
 * forget()                                                              // when the group is gone
 * reapOrphans()   // at start: { reaped: 1 } if a dead runner left a group running
 * ```
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"

/** Where the records live: one file per running group, on this machine. */
export const groupsDirectory = (): string => nodePath.join(os.tmpdir(), "slicewise-groups")

interface GroupRecord {
  readonly owner: number
  readonly ownerStart: string
  readonly pgid: number
  readonly leaderStart: string
  /** Temporaries the group writes, removed when it is reaped. */
  readonly paths: ReadonlyArray<string>
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); undefined if no such process. */
const startTime = (pid: number): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

/** The process group id (field 5) of `pid`, if it is a process that still runs (not a zombie). */
const liveGroupOf = (pid: number): number | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // A killed process whose parent died stays a zombie until init collects it: it runs no more.
    return fields[0] === "Z" || fields[0] === "X" ? undefined : Number(fields[2])
  } catch {
    return undefined
  }
}

/** True while some process of group `pgid` still runs. */
export const groupAlive = (pgid: number): boolean =>
  fs.readdirSync("/proc").some((name) => /^\d+$/.test(name) && liveGroupOf(Number(name)) === pgid)

/** Records group `pgid` (this process owns it); the function returned forgets it. */
export const recordGroup = (pgid: number, paths: ReadonlyArray<string>): (() => void) => {
  const file = nodePath.join(groupsDirectory(), `${pgid}.json`)
  try {
    fs.mkdirSync(groupsDirectory(), { recursive: true })
    const record: GroupRecord = { owner: process.pid, ownerStart: startTime(process.pid) ?? "", pgid, leaderStart: startTime(pgid) ?? "", paths }
    fs.writeFileSync(file, JSON.stringify(record))
  } catch {
    // Without a record the group is only not reapable after a crash; the job itself is unaffected.
  }
  return () => fs.rmSync(file, { force: true })
}

/** Kills the recorded groups whose owner is gone and removes their temporaries. */
export const reapOrphans = (): { readonly reaped: number } => {
  let reaped = 0
  const dir = groupsDirectory()
  if (!fs.existsSync(dir)) return { reaped }
  for (const name of fs.readdirSync(dir)) {
    const file = nodePath.join(dir, name)
    let record: GroupRecord
    try {
      record = JSON.parse(fs.readFileSync(file, "utf8")) as GroupRecord
    } catch {
      continue
    }
    if (startTime(record.owner) === record.ownerStart) continue // its owner still runs it
    const leader = startTime(record.pgid)
    // The leader's pid belongs to another process now: the group ended long ago.
    const sameGroup = leader === undefined ? groupAlive(record.pgid) : leader === record.leaderStart
    if (sameGroup) {
      try {
        process.kill(-record.pgid, "SIGKILL")
        reaped++
      } catch {
        // ESRCH: it ended meanwhile.
      }
    }
    for (const p of record.paths) fs.rmSync(p, { recursive: true, force: true })
    fs.rmSync(file, { force: true })
  }
  return { reaped }
}
