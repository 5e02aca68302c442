import * as Data from "effect/Data"

/** A command line that asks for something impossible (a bad size, a budget too small). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}
