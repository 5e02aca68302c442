/**
 * A runner's worker: takes jobs from the job queue (queue.ts) while the sum of its running jobs'
 * predicted peaks stays within its budget — the largest that fits first, looking again whenever
 * a job starts or finishes and every `pollMillis` otherwise — runs each (execute.ts), completes
 * the pipeline's durable deferred with its report, and keeps the locks of its running jobs fresh.
 * A bigger runner takes more; a runner with room never waits while a job that fits is queued.
 *
 * @example
 * ```ts
 * yield* Effect.forkScoped(runWorker({ runner: "node-1", budgetBytes: 8 * 2 ** 30 }))
 * ```
 */
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { collectGarbage } from "../util/gc.js"
import { executeJob } from "./execute.js"
import { jobDeferred } from "./pipeline.js"
import { kindOf, QueuedJob, type JobReport } from "./protocol.js"
import { JobQueueService, type TakenJob } from "./queue.js"

export interface WorkerOptions {
  /** This runner's name, in reports and locks. */
  readonly runner: string
  /** What the running jobs' predicted peaks may add up to, bytes. */
  readonly budgetBytes: number
  /**
   * The runner's own memory, to keep its growth out of the budget: with `rss` (its resident bytes
   * now) and `baselineBytes` (what it was when the budget was set), what it has grown beyond the
   * baseline and its in-process jobs' predictions is taken from the budget while it lasts.
   */
  readonly own?: { readonly rss: () => number; readonly baselineBytes: number }
  /** How often to look at the queue when nothing changed (default 250 ms). */
  readonly pollMillis?: number
  /** Seconds between lock refreshes (default 3: a third of the queue's default lock). */
  readonly refreshSeconds?: number
  /** Takes of one job before it is given up: it keeps killing its runners (default 3). */
  readonly maxTakes?: number
  readonly onStart?: (job: QueuedJob) => void
  readonly onFinish?: (report: JobReport) => void
}

const decodeQueued = Schema.decodeUnknown(Schema.parseJson(QueuedJob))

/** Whether a queued job (its JSON) runs in the runner's process: slicewise's own kinds do, tools do not. */
const runsInProcess = (payload: string): boolean => {
  try {
    const kind = kindOf((JSON.parse(payload) as QueuedJob).definition)
    return kind === "run" || kind === "fuse"
  } catch {
    return false
  }
}

/** Runs forever (until interrupted): take what fits, run it, report it, free its memory. */
export const runWorker = (options: WorkerOptions) =>
  Effect.gen(function* () {
    const queue = yield* JobQueueService
    const running = new Map<string, { readonly bytes: number; readonly inProcess: boolean }>() // by id
    const sum = (inProcessOnly: boolean) => [...running.values()].reduce((n, r) => (inProcessOnly && !r.inProcess ? n : n + r.bytes), 0)
    // The runner's heap grows as it runs jobs (tens of MiB over a day's pipelines): that is memory
    // its jobs cannot have. Slicewise jobs run in its process, so their predictions are not growth.
    const growth = () => (options.own === undefined ? 0 : Math.max(0, options.own.rss() - options.own.baselineBytes - sum(true)))
    const free = () => options.budgetBytes - sum(false) - growth()
    const changed = yield* Effect.makeLatch(false)

    const report = (taken: TakenJob, r: JobReport) =>
      Effect.gen(function* () {
        options.onFinish?.(r)
        yield* DurableDeferred.done(jobDeferred(taken.name), { token: taken.token as DurableDeferred.Token, exit: Exit.succeed(r) })
        yield* queue.complete(taken.id, r)
      })

    const run = (taken: TakenJob) =>
      Effect.gen(function* () {
        const job = yield* Effect.orDie(decodeQueued(taken.payload))
        if (taken.takes > (options.maxTakes ?? 3)) {
          const error = `given up: taken ${taken.takes - 1} times by runners that stopped before it finished`
          return yield* report(taken, { name: job.name, kind: kindOf(job.definition), state: "failed", attempts: taken.takes - 1, predictedBytes: job.predictedBytes, error })
        }
        options.onStart?.(job)
        yield* report(taken, yield* executeJob(job, options.runner, taken.takes - 1))
      }).pipe(
        // A report that could not be delivered (PostgreSQL away): the lock lapses and the job runs again.
        Effect.tapErrorCause(Effect.logWarning),
        // Stopping mid-job: the job goes back to the queue at once, not after its lock expires.
        Effect.onInterrupt(() => Effect.ignore(queue.release(taken.id))),
        Effect.ensuring(
          Effect.zipRight(
            Effect.sync(() => {
              // What a slicewise job left in this process is garbage now: collected (as the batch
              // does), it is not counted as the runner's growth.
              if (running.get(taken.id)?.inProcess === true) collectGarbage()
              running.delete(taken.id)
            }),
            changed.open
          )
        )
      )

    // The heartbeat: this runner's budget (less its growth), for refusing jobs no runner can hold, and its jobs' locks.
    yield* Effect.forkScoped(
      Effect.suspend(() => Effect.zipRight(queue.announce(options.runner, options.budgetBytes - growth()), queue.refresh(options.runner, [...running.keys()]))).pipe(
        Effect.catchAllCause(Effect.logWarning),
        Effect.repeat(Schedule.spaced(Duration.seconds(options.refreshSeconds ?? 3)))
      )
    )
    for (;;) {
      // PostgreSQL out of reach: say so and look again, as the cluster's own storage does.
      const taken = yield* queue.take(options.runner, free()).pipe(Effect.tapErrorCause(Effect.logWarning), Effect.orElseSucceed(() => Option.none<TakenJob>()))
      if (Option.isSome(taken)) {
        running.set(taken.value.id, { bytes: taken.value.predictedBytes, inProcess: runsInProcess(taken.value.payload) })
        yield* Effect.forkScoped(run(taken.value))
        continue
      }
      changed.unsafeClose()
      yield* Effect.timeout(changed.await, options.pollMillis ?? 250).pipe(Effect.ignore)
    }
  })
