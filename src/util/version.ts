/**
 * The version of slicewise, as the CLI reports it and as journals of resumable runs record it (a
 * journal written by another version is refused: its plan and bytes may differ). Kept equal to
 * package.json's by test/util/version.test.ts.
 *
 * @example
 * ```ts
 * SLICEWISE_VERSION   // "0.1.0"
 * ```
 */
export const SLICEWISE_VERSION = "0.1.0"
