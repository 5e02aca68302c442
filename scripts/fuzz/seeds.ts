/**
 * Reading seeds from the repository's test fixtures: one file, or a directory tree under a prefix.
 * Used by the format modules in scripts/fuzz/formats/.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"

export const FIXTURES = nodePath.resolve(import.meta.dirname, "../../test/fixtures")

export const fixture = (rel: string): Uint8Array => new Uint8Array(fs.readFileSync(nodePath.join(FIXTURES, rel)))

/** Every file under `dir` (a fixture directory), keyed `prefix/relative path`; `skip` filters names. */
export const fixtureTree = (dir: string, prefix: string, skip: (name: string) => boolean = () => false): Record<string, Uint8Array> => {
  const out: Record<string, Uint8Array> = {}
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      if (skip(e.name)) continue
      if (e.isDirectory()) walk(nodePath.join(abs, e.name), `${rel}/${e.name}`)
      else out[`${rel}/${e.name}`] = new Uint8Array(fs.readFileSync(nodePath.join(abs, e.name)))
    }
  }
  walk(nodePath.join(FIXTURES, dir), prefix)
  return out
}
