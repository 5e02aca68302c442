/**
 * What the HTML page of a cluster run shows, as plain data: the pipeline as submitted (its jobs and
 * what each comes after), what became of every job, and each runner's samples over the pipeline's
 * time. The cluster layer fills it from PostgreSQL (src/cluster/report.ts); ./cluster-html.ts
 * renders it. Types only: this layer knows no cluster code.
 *
 * @example
 * ```ts
 * const page: ClusterPage = { id: "3f2a9c0d1e7b4a55", startedAt, finishedAt, jobs, runners }
 * fs.writeFileSync("page.html", clusterHtml(page))
 * ```
 */

/** One sample of a runner: its process and the tools it runs, about once a second. */
export interface RunnerSample {
  /** ms since the epoch */
  readonly at: number
  /** Resident memory of the runner's process and its descendants (the external tools it runs). */
  readonly rssBytes: number
  /** CPU time of that process tree over the interval, % of one core. */
  readonly cpuPercent: number
  /** From /proc/PID/io of the tree, bytes per second: read/write calls (rchar, wchar) and storage (read_bytes, write_bytes). */
  readonly io?: {
    readonly readBytesPerSecond: number
    readonly writeBytesPerSecond: number
    readonly diskReadBytesPerSecond: number
    readonly diskWriteBytesPerSecond: number
  }
  readonly runningJobs: number
  /** The sum of its running jobs' predicted peaks. */
  readonly runningPredictedBytes: number
  /** What its jobs may use, and its own RSS when it started (the budget sits on top of it). */
  readonly budgetBytes: number
  readonly baselineBytes: number
}

/** What was run: the job's command or steps, and the files it reads and writes. */
export interface JobWhat {
  readonly command?: string
  readonly steps?: ReadonlyArray<string>
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
}

/** One job: as submitted, and what became of it (a JobReport's figures). */
export interface ClusterPageJob {
  readonly name: string
  readonly kind: string
  readonly after: ReadonlyArray<string>
  readonly what: JobWhat
  /** done, failed, refused, not-run; or, before the pipeline ends, running, queued, waiting. */
  readonly state: string
  readonly runner?: string
  readonly attempts?: number
  readonly predictedBytes?: number
  readonly measuredBytes?: number
  readonly cpuMs?: number
  readonly wallMs?: number
  /** ms since the epoch */
  readonly startedAt?: number
  readonly finishedAt?: number
  readonly bytesRead?: number
  readonly bytesWritten?: number
  readonly error?: string
}

export interface ClusterPage {
  readonly id: string
  /** ms since the epoch; `finishedAt` absent while the pipeline runs. */
  readonly startedAt: number
  readonly finishedAt?: number
  /** When the page was made (the end of the time axis of a pipeline still running). */
  readonly madeAt: number
  readonly jobs: ReadonlyArray<ClusterPageJob>
  /** The runners that ran its jobs or were alive meanwhile, with their samples over its time. */
  readonly runners: ReadonlyArray<{ readonly name: string; readonly samples: ReadonlyArray<RunnerSample> }>
}
