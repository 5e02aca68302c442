import * as Data from "effect/Data"

/** A program that cannot be planned: mismatched shapes or dtypes, an unsupported combination. */
export class PlanError extends Data.TaggedError("PlanError")<{
  readonly detail: string
  readonly hint?: string
}> {
  override get message(): string {
    return `cannot plan: ${this.detail}${this.hint ? ` (${this.hint})` : ""}`
  }
}
