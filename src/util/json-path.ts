/**
 * Where in a JSON file a Schema decoding failed, said the way a user finds it: `jobs[2].steps`.
 * Shared by the files slicewise reads back (jobs files, profiles).
 *
 * @example
 * ```ts
 * const { at, detail } = firstIssue(parseError)      // { at: "jobs[1].steps", detail: "Expected …" }
 * locatedMessage("/data/jobs.json", at, detail)      // "/data/jobs.json: jobs[1].steps: Expected …"
 * ```
 */
import * as ParseResult from "effect/ParseResult"

/** `["jobs", 2, "steps"]` → `jobs[2].steps`. */
export const jsonPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("")

/** The first issue of a decoding failure: its JSON path ("" for the whole value) and message. */
export const firstIssue = (error: ParseResult.ParseError): { readonly at: string; readonly detail: string } => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return { at: issue === undefined ? "" : jsonPath(issue.path), detail: issue?.message ?? "invalid" }
}

/** `file: at: detail`, or `file: detail` when the whole file is at fault. */
export const locatedMessage = (path: string, at: string, detail: string): string => `${path}: ${at === "" ? "" : `${at}: `}${detail}`
