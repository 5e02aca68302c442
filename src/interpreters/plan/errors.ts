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

/**
 * No plan fits the memory budget: even the smallest bands and the best split need more. Raised
 * before any voxel is read; `minimumBytes` is the smallest budget that would work.
 */
export class BudgetError extends Data.TaggedError("BudgetError")<{
  readonly budgetBytes: number
  readonly minimumBytes: number
  readonly detail: string
}> {
  override get message(): string {
    return `cannot fit the memory budget: ${this.detail}`
  }
}
