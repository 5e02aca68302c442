/**
 * The typed failure of a kernel: what a window or sweep kernel threw (in `prepare`, `compute` or
 * `computeRows`, on the calling thread or on a row thread), or why a row thread could not rebuild
 * it from its recipe. Every interpreter fails with it instead of dying with a defect, so a caller
 * can `Effect.catchTag("KernelError", …)`; `message` is the one line the CLI prints.
 *
 * A module of its own: the kernels (and the row workers that import them) never load Effect.
 *
 * @example
 * ```ts
 * Run.run(program).pipe(Effect.catchTag("KernelError", (e) => Console.error(e.stage, e.z, e.detail)))
 * ```
 */
import * as Data from "effect/Data"

export class KernelError extends Data.TaggedError("KernelError")<{
  /**
   * The stage as the interpreter names it, `#id label`: the plan's stage in a run (as plan texts
   * and metrics show it; a fused stage's label joins its members'), the program's node in memory.
   */
  readonly stage: string
  /** The kernel's own name (one member of a fused stage). */
  readonly kernel: string
  /**
   * "load": a row thread could not rebuild the kernel from its recipe (module or export missing);
   * "prepare": `prepare` threw; "compute": `compute` or `computeRows` threw, on slice `z`.
   */
  readonly phase: "load" | "prepare" | "compute"
  readonly z?: number
  /** What the kernel threw (its message), or why it could not be loaded. */
  readonly detail: string
  readonly hint?: string
  /** What was thrown, for a debugging print (SLICEWISE_DEBUG=1). */
  readonly cause?: unknown
}> {
  override get message(): string {
    const what =
      this.phase === "load"
        ? "cannot be rebuilt on a row thread"
        : this.phase === "prepare"
          ? "failed to prepare"
          : `failed on slice ${this.z}`
    return `kernel ${this.kernel} of stage ${this.stage} ${what}: ${this.detail}${this.hint ? ` (${this.hint})` : ""}`
  }
}

/** The message of something thrown. */
export const thrownMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e))
