/**
 * `--memory`, `--buffers`, `--threads` and `--mode` → plan options. `--memory` is the budget for the
 * process's peak RSS, as for `slicewise batch`: the runtime measured now (Node, the code, the
 * opened inputs), a headroom and each worker thread's runtime come off it first (src/jobs/memory.ts),
 * and the plan's buffers get the rest. `--buffers` caps the buffers alone. Without `--threads`, a
 * run that cannot afford the workers' runtime under `--memory` uses fewer threads.
 *
 * @example
 * ```ts
 * const { options, plan, split } = yield* fitBudget(program, { mode: "fused", memory: Option.some("256MiB"), threads: Option.none() })
 * yield* Run.run(program, options)   // the same plan, within the budget
 * ```
 */
import { availableParallelism } from "node:os"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Program } from "../algebra/algebra.js"
import * as Plan from "../interpreters/plan/index.js"
import { UsageError } from "../jobs/errors.js"
import { parseMemory, settledRss, splitMemory, type MemorySplit } from "../jobs/memory.js"
import { formatBytes, sizeAtLeast } from "../util/units.js"

export interface BudgetFlags {
  readonly mode: "fused" | "unfused"
  /** --memory: the process's peak RSS. */
  readonly memory: Option.Option<string>
  /** --buffers: the plan's buffers alone. */
  readonly buffers?: Option.Option<string>
  readonly threads: Option.Option<number>
}

export interface Budget {
  readonly options: Plan.PlanOptions
  /** The plan made with them. */
  readonly plan: Plan.Plan
  /** How --memory was shared out, when it was given. */
  readonly split?: MemorySplit
}

/** --threads, checked; default the number of CPUs. */
export const threadCount = (given: Option.Option<number>) =>
  Option.match(given, {
    onNone: () => Effect.succeed(availableParallelism()),
    onSome: (n) =>
      Number.isInteger(n) && n >= 1 && n <= 256
        ? Effect.succeed(n)
        : Effect.fail(new UsageError({ detail: `--threads must be an integer from 1 to 256, got ${n}` }))
  })

/**
 * A suggested --memory: what this process needs, with room for the runtime of the next process,
 * which is measured anew. The runtime varies by a few MiB from the bundle and by up to 16 MiB from
 * the sources under tsx (ten runs at once on 2 cores: 164–180 MiB), so the room grows with it.
 */
const suggestion = (neededBytes: number, runtimeBytes: number): string =>
  sizeAtLeast(Math.ceil((neededBytes + 0.2 * runtimeBytes + 4 * 2 ** 20) / 2 ** 20) * 2 ** 20)

/** The plan options of the flags, fitted to --memory and --buffers; refuses what cannot fit, naming a size that does. */
export const fitBudget = (program: Program, f: BudgetFlags): Effect.Effect<Budget, UsageError | Plan.PlanError> =>
  Effect.gen(function* () {
    const rewrites = f.mode === "unfused" ? { rewrites: [] } : {}
    const threads = f.mode === "unfused" ? 1 : yield* threadCount(f.threads)
    const cap = f.buffers !== undefined && Option.isSome(f.buffers) ? yield* parseMemory(f.buffers.value, "--buffers") : undefined
    const plan = (t: number, bytes: number | undefined) =>
      Effect.either(Plan.make(program, { ...rewrites, threads: t, ...(bytes === undefined ? {} : { memoryBytes: bytes }) }))
    if (Option.isNone(f.memory)) {
      const r = yield* plan(threads, cap)
      if (Either.isLeft(r)) return yield* refuseBuffers(r.left, f.buffers)
      return { options: { ...rewrites, threads, ...(cap === undefined ? {} : { memoryBytes: cap }) }, plan: r.right }
    }
    const total = yield* parseMemory(f.memory.value, "--memory")
    const runtime = settledRss()
    // Explicit threads are kept; the default gives way, one worker at a time, to the buffers.
    const counts = Option.isSome(f.threads) || f.mode === "unfused" ? [threads] : Array.from({ length: threads }, (_, i) => threads - i)
    for (const t of counts) {
      const split = splitMemory(total, runtime, t)
      const bytes = Math.min(split.bufferBytes, cap ?? Infinity)
      if (bytes <= 0) continue
      const r = yield* plan(t, bytes)
      if (Either.isRight(r)) return { options: { ...rewrites, threads: t, memoryBytes: bytes }, plan: r.right, split }
      if (!(r.left instanceof Plan.BudgetError)) return yield* r.left
    }
    const least = splitMemory(total, runtime, counts[counts.length - 1]!)
    const minimum = yield* leastBuffers(program, counts[counts.length - 1]!, rewrites)
    const needed = total - least.bufferBytes + minimum
    return yield* new UsageError({
      detail:
        `--memory ${f.memory.value} is too small: the runtime takes ${formatBytes(least.runtimeBytes)}, headroom ${formatBytes(least.headroomBytes)}` +
        (least.workerThreads > 0 ? `, ${least.workerThreads} worker thread${least.workerThreads === 1 ? "" : "s"} ${formatBytes(least.workerBytes)}` : "") +
        ` and the plan's buffers at least ${formatBytes(minimum)}; try --memory ${suggestion(needed, least.runtimeBytes)}`
    })
  })

/** The fewest buffer bytes any plan of the program can hold on `threads` threads. */
const leastBuffers = (program: Program, threads: number, rewrites: Plan.PlanOptions) =>
  Effect.map(Effect.either(Plan.make(program, { ...rewrites, threads, memoryBytes: 1 })), (r) =>
    Either.isLeft(r) && r.left instanceof Plan.BudgetError ? r.left.minimumBytes : 1
  )

/** A BudgetError under --buffers as the CLI says it: with a size that works. */
const refuseBuffers = (e: Plan.PlanError | Plan.BudgetError, buffers: Option.Option<string> | undefined) =>
  e instanceof Plan.BudgetError
    ? Effect.fail(
        new UsageError({
          detail: `--buffers ${Option.getOrElse(buffers ?? Option.none(), () => "")} is too small: ${e.detail}; try --buffers ${sizeAtLeast(e.minimumBytes)}`
        })
      )
    : Effect.fail(e)

/** One line: how --memory was shared out, and what the plan holds of its share. */
export const splitText = (split: MemorySplit, plannedBufferBytes: number): string =>
  `memory ${formatBytes(split.totalBytes)} (peak RSS): runtime ${formatBytes(split.runtimeBytes)}, headroom ${formatBytes(split.headroomBytes)}` +
  (split.workerThreads > 0 ? `, ${split.workerThreads} worker thread${split.workerThreads === 1 ? "" : "s"} ${formatBytes(split.workerBytes)}` : "") +
  `, buffers up to ${formatBytes(split.bufferBytes)} (planned ${formatBytes(plannedBufferBytes)})`
