/**
 * Where in a JSON file a Schema decoding failed, said the way a user finds it: `jobs[2].steps`.
 * Shared by the files slicewise reads back (jobs files, profiles).
 *
 * @example
 * ```ts
 * const { at, detail } = firstIssue(parseError)      // { at: "jobs[1].steps", detail: "Expected …" }
 * new JobsFileError({ path: "/data/jobs.json", at, detail }).message   // "/data/jobs.json: jobs[1].steps: Expected …"
 * ```
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as ParseResult from "effect/ParseResult"

/** `["jobs", 2, "steps"]` → `jobs[2].steps`. */
export const jsonPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("")

/** The first issue of a decoding failure: its JSON path ("" for the whole value) and message. */
export const firstIssue = (error: ParseResult.ParseError): { readonly at: string; readonly detail: string } => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return { at: issue === undefined ? "" : jsonPath(issue.path), detail: issue?.message ?? "invalid" }
}

export interface JsonFileFields {
  readonly path: string
  /** The JSON path of the bad field, or "" for the file as a whole. */
  readonly at: string
  readonly detail: string
}

/**
 * The class of a tagged error about a JSON file: `message` is `file: at: detail`, or `file: detail`
 * when the whole file is at fault.
 *
 * @example
 * ```ts
 * export class ProfileError extends JsonFileError("ProfileError") {}
 * ```
 */
export const JsonFileError = <Tag extends string>(
  tag: Tag
): new (fields: JsonFileFields) => Cause.YieldableError & { readonly _tag: Tag } & Readonly<JsonFileFields> =>
  class extends Data.TaggedError(tag)<JsonFileFields> {
    override get message(): string {
      return `${this.path}: ${this.at === "" ? "" : `${this.at}: `}${this.detail}`
    }
  }
