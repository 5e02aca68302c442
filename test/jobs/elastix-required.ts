/**
 * Tests that run elastix fail, never skip, when it is missing: CI installs it (.ci/run), and a
 * developer is told how.
 */
import { spawnSync } from "node:child_process"

export const ELASTIX_MISSING =
  "elastix and transformix are not installed: these tests run the real tools. Install Debian's: apt-get install -y elastix (as root); .ci/run does so itself"

/** Throws, with how to install them, when elastix or transformix cannot be run. */
export const requireElastix = (): void => {
  for (const tool of ["elastix", "transformix"]) {
    const r = spawnSync(tool, ["--version"], { encoding: "utf8" })
    if (r.error !== undefined || r.status !== 0) throw new Error(`${ELASTIX_MISSING} (${tool}: ${r.error?.message ?? `exit ${r.status}`})`)
  }
}
