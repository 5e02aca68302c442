/**
 * The journal of a resumable run (`slicewise run --resume`, docs/RESUME.md):
 * `<output>.slicewise-journal`, a small JSON file beside the output's temporary that says what the
 * run is (its identity: slicewise's version, its inputs, its steps, and a fingerprint of its plan)
 * and how far each of its writes got: the temporaries they write, the slices done (in the pass's
 * step order) and a CRC-32 of each. It is replaced atomically at each checkpoint, after the data
 * it counts were flushed: written to a private file, fsynced, renamed over the journal, and the
 * directory fsynced. So after a kill -9 or a power cut the journal never counts a slice the disk
 * does not hold, and a resumed run still verifies each one against its checksum.
 *
 * @example
 * ```ts
 * const path = journalName("/out/v.nrrd")                 // "/out/v.nrrd.slicewise-journal"
 * yield* writeJournal(path, journal)                      // at a checkpoint
 * const previous = yield* readJournal(path)               // undefined when there is none
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { fileError, FormatError, type FileError } from "../algebra/io-errors.js"
import { removeSuffixed, shownPath, temporarySuffix } from "./atomic.js"
import { syncPath } from "./files.js"
import { identityChange, type InputIdentity } from "./identity.js"
import { removeStateFiles, type SavedState } from "./journal-state.js"

/** The journal's format; a journal of another version is refused, never guessed at. */
export const JOURNAL_FORMAT = "slicewise-journal"
export const JOURNAL_VERSION = 1

/** What a run is: a journal is reused only by a run with the same identity. */
export interface RunIdentity {
  /** slicewise's version (a plan or a kernel may change between versions). */
  readonly slicewise: string
  readonly inputs: ReadonlyArray<InputIdentity>
  /** The steps as the user gave them (`gaussian:sigma=1`). */
  readonly steps: ReadonlyArray<string>
}

/** How far one write (an output or a spill) got. */
export interface JournalWrite {
  /** The write node's id in the plan, and its label, to match it and to report it. */
  readonly node: number
  readonly label: string
  /** The temporary files it writes (ResumableWriter.temporaries). */
  readonly temporaries: ReadonlyArray<string>
  /** Slices written and flushed, in the pass's step order (0 … done − 1). */
  readonly done: number
  /** CRC-32 of each of those slices (checksum.ts). */
  readonly checksums: ReadonlyArray<number>
}

/** The value of a reduction whose pass has finished, so that a resumed run need not fold again. */
export interface JournalScalar {
  /** The reduce node's id in the plan, and its label. */
  readonly node: number
  readonly label: string
  /** The value as util/json-value.ts encodes it, or (a large value) the side file that holds it (journal-state.ts). */
  readonly value?: unknown
  readonly file?: SavedState
}

export interface Journal {
  readonly format: typeof JOURNAL_FORMAT
  readonly version: typeof JOURNAL_VERSION
  readonly identity: RunIdentity
  /** The plan's fingerprint (interpreters/run/resume.ts): passes, stages, latencies, writes. */
  readonly plan: string
  readonly writes: ReadonlyArray<JournalWrite>
  /** Finished reductions (absent: none yet). */
  readonly scalars?: ReadonlyArray<JournalScalar>
  /** The state of the pass that was running, at tick `tick` (journal-state.ts; absent: none saved). */
  readonly state?: JournalState
}

/** The state file of the pass a checkpoint interrupted, and the last tick it holds the state after. */
export interface JournalState extends SavedState {
  readonly pass: number
  readonly tick: number
}

/** The journal of `output`. */
export const journalName = (output: string): string => `${output}.slicewise-journal`

const refuse = (path: string, position: string, detail: string) =>
  new FormatError({ path, position, detail, hint: "run without --resume to start over" })

const parse = (path: string, text: string): Journal | FormatError => {
  let j: Partial<Journal>
  try {
    j = JSON.parse(text) as Partial<Journal>
  } catch {
    return refuse(path, "content", "not a slicewise journal (not JSON: was it cut short?)")
  }
  if (j.format !== JOURNAL_FORMAT) return refuse(path, "format", "not a slicewise journal")
  if (j.version !== JOURNAL_VERSION) return refuse(path, "version", `journal format ${j.version}, this slicewise reads ${JOURNAL_VERSION}`)
  if (typeof j.plan !== "string" || !Array.isArray(j.writes) || typeof j.identity !== "object")
    return refuse(path, "content", "not a slicewise journal (fields missing)")
  return j as Journal
}

/**
 * The journal at `path`, or undefined when there is none. One that cannot be read as a journal of
 * this version is a FormatError naming it.
 *
 * @example
 * ```ts
 * const previous = yield* readJournal("/out/v.nrrd.slicewise-journal")
 * ```
 */
export const readJournal = (path: string): Effect.Effect<Journal | undefined, FileError | FormatError> =>
  Effect.flatMap(
    Effect.try({
      try: () => (fs.existsSync(path) ? fs.readFileSync(path, "utf8") : undefined),
      catch: (e) => fileError(path, "read", e)
    }),
    (text) => {
      if (text === undefined) return Effect.succeed(undefined)
      const j = parse(path, text)
      return j instanceof FormatError ? Effect.fail(j) : Effect.succeed(j)
    }
  )


/**
 * Replaces the journal at `path` atomically and durably: a private file written and fsynced,
 * renamed over it, the directory fsynced. A failure is a FileError "write" naming the journal.
 *
 * @example
 * ```ts
 * yield* writeJournal(journalName(output), journal)
 * ```
 */
export const writeJournal = (path: string, journal: Journal): Effect.Effect<void, FileError> =>
  Effect.try({
    try: () => {
      const draft = path + temporarySuffix()
      try {
        const fd = fs.openSync(draft, "wx")
        try {
          fs.writeSync(fd, JSON.stringify(journal))
          fs.fsyncSync(fd)
        } finally {
          fs.closeSync(fd)
        }
        fs.renameSync(draft, path)
      } finally {
        fs.rmSync(draft, { force: true })
      }
      syncPath(nodePath.dirname(path))
    },
    catch: (e) => fileError(path, "write", e)
  })

/**
 * Removes the journal at `path`, and any draft of it a killed run left; one already gone is not an
 * error.
 *
 * @example
 * ```ts
 * yield* removeJournal(journalName(output))   // after the commit
 * ```
 */
export const removeJournal = (path: string): Effect.Effect<void> =>
  Effect.sync(() => {
    fs.rmSync(path, { force: true })
    removeDrafts(path)
    removeStateFiles(path)
  })

/** Removes drafts of the journal at `path` that a run killed while replacing it left (`<journal>.partial-…`). */
const removeDrafts = (path: string): void => removeSuffixed(path, ".partial-")

/**
 * Why `journal` (at `path`) cannot be resumed by a run of `identity` and plan fingerprint `plan`:
 * the version, an input, the steps or the plan differ. A FormatError naming the journal and the
 * difference, in one line; undefined when they match.
 *
 * @example
 * ```ts
 * journalMismatch(path, journal, identity, fingerprint)
 * // FormatError "v.nrrd.slicewise-journal: steps: written by a run of gaussian:sigma=1, this run's are gaussian:sigma=2 (…)"
 * ```
 */
export const journalMismatch = (path: string, journal: Journal, identity: RunIdentity, plan: string): FormatError | undefined => {
  const before = journal.identity
  if (before.slicewise !== identity.slicewise)
    return refuse(path, "version", `written by slicewise ${before.slicewise}, this is slicewise ${identity.slicewise}`)
  if (before.steps.join(" ") !== identity.steps.join(" "))
    return refuse(path, "steps", `written by a run of ${before.steps.join(" ")}, this run's are ${identity.steps.join(" ")}`)
  if (before.inputs.length !== identity.inputs.length || before.inputs.some((b, i) => b.path !== identity.inputs[i]!.path))
    return refuse(path, "input", `written by a run of ${before.inputs.map((i) => i.path).join(", ")}, this run reads ${identity.inputs.map((i) => i.path).join(", ")}`)
  for (let i = 0; i < before.inputs.length; i++) {
    const change = identityChange(before.inputs[i]!, identity.inputs[i]!)
    if (change !== undefined) return refuse(path, "input", change)
  }
  if (journal.plan !== plan)
    return refuse(path, "plan", "the plan differs from the interrupted run's (another --memory, --buffers or --threads?)")
  return undefined
}

/**
 * Removes the journal at `path` and the temporaries it names: what an interrupted resumable run
 * left, when a run of the same output starts over without --resume (after taking the output's
 * lock, so that no live run owns them). Only names that are temporaries (`.partial-…`) are removed.
 *
 * @example
 * ```ts
 * yield* discardJournal(journalName(output))
 * ```
 */
export const discardJournal = (path: string): Effect.Effect<void> =>
  Effect.sync(() => {
    let text: string
    try {
      text = fs.readFileSync(path, "utf8")
    } catch {
      removeStateFiles(path)
      return removeDrafts(path)
    }
    const journal = parse(path, text)
    if (!(journal instanceof FormatError)) {
      for (const w of journal.writes) for (const t of w.temporaries) if (shownPath(t) !== t) fs.rmSync(t, { recursive: true, force: true })
    }
    fs.rmSync(path, { force: true })
    removeDrafts(path)
    removeStateFiles(path)
  })
