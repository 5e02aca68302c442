/**
 * Memory sizes as people write them (`--memory 512MiB`, `"memory": "2GiB"` in a job), checked in
 * one place so that every command and job refuses a bad size with the same words.
 *
 * @example
 * ```ts
 * const bytes = yield* parseMemory("512MiB", "--memory")   // 536870912
 * yield* parseMemory("lots", "--memory")                    // UsageError: --memory lots is not a size (try 512MiB or 2GiB)
 * ```
 */
import * as Effect from "effect/Effect"
import { parseSize } from "../util/units.js"
import { UsageError } from "./errors.js"

/** A positive size in bytes; `what` names the flag or field in the error ("--memory", "memory"). */
export const parseMemory = (text: string, what: string): Effect.Effect<number, UsageError> => {
  const bytes = parseSize(text)
  return bytes === undefined || bytes <= 0
    ? Effect.fail(new UsageError({ detail: `${what} ${text} is not a size (try 512MiB or 2GiB)` }))
    : Effect.succeed(bytes)
}
