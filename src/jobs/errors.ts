import * as Data from "effect/Data"

/**
 * A command line or a job that asks for something impossible: a bad size, a budget too small, an
 * option that does not apply. `message` is the one line the CLI prints.
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}
