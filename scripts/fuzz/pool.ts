/**
 * Runs fuzz cases in a worker thread (worker.ts) with a time limit per case: a case that does not
 * answer in time is a hang (the worker is terminated, which stops even a synchronous loop, and a
 * fresh one started); a worker that dies is a crash (its heap is capped, so an unbounded JS
 * allocation kills the worker, not the fuzzer). Used by scripts/fuzz/fuzz.ts.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Worker } from "node:worker_threads"
import type { Job, Outcome } from "./types.js"

export interface PoolOptions {
  /** Milliseconds a case may take. */
  readonly timeoutMs: number
  /** The largest single allocation allowed, bytes. */
  readonly allocationLimit: number
}

export class CaseRunner {
  private worker: Worker | undefined
  private ready: Promise<void> | undefined
  private next = 0
  private pending: { id: number; resolve: (o: Outcome) => void } | undefined
  /** The largest `arrayBuffers` a worker reported after a case, bytes. */
  peakArrayBuffers = 0
  readonly dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-fuzz-"))

  constructor(private readonly options: PoolOptions) {}

  private start(): Promise<void> {
    // tsx's hooks are not inherited by workers: the entry registers them itself.
    const worker = new Worker(new URL("./worker-entry.mjs", import.meta.url), {
      workerData: { limit: this.options.allocationLimit, dir: this.dir },
      resourceLimits: { maxOldGenerationSizeMb: 768 }
    })
    this.worker = worker
    this.ready = new Promise((resolve, reject) => {
      worker.once("error", reject)
      worker.on("message", (m: { ready?: boolean; id?: number; outcome?: Outcome; arrayBuffers?: number }) => {
        if (m.ready) return resolve()
        if (this.pending !== undefined && m.id === this.pending.id) {
          this.peakArrayBuffers = Math.max(this.peakArrayBuffers, m.arrayBuffers ?? 0)
          const { resolve: done } = this.pending
          this.pending = undefined
          done(m.outcome!)
        }
      })
    })
    // A terminated worker's events come after a fresh one took over: they concern no pending case.
    worker.on("error", (e) => {
      if (this.worker === worker) this.fail("crash", `worker error: ${String(e?.message ?? e)}`)
    })
    worker.on("exit", (code) => {
      if (this.worker !== worker) return
      this.worker = undefined
      this.fail("crash", `worker exited with code ${code}`)
    })
    return this.ready
  }

  private fail(finding: "crash" | "hang", message: string) {
    const p = this.pending
    this.pending = undefined
    p?.resolve({ kind: "finding", finding, message })
  }

  async run(job: Job): Promise<Outcome> {
    if (this.worker === undefined) await this.start()
    else await this.ready
    const id = this.next++
    const worker = this.worker!
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        if (this.pending?.id !== id) return
        this.fail("hang", `no answer in ${this.options.timeoutMs} ms`)
        this.worker = undefined
        void worker.terminate()
      }, this.options.timeoutMs)
      this.pending = {
        id,
        resolve: (o) => {
          clearTimeout(timer)
          resolve(o)
        }
      }
      worker.postMessage({ ...job, id })
    })
  }

  async close(): Promise<void> {
    const w = this.worker
    this.worker = undefined
    if (w !== undefined) await w.terminate()
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}
