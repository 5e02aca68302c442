/**
 * Every test file gets its own, empty tool-model store (src/jobs/exec/tool-model-store.ts): jobs
 * that finish record their measured peaks there, and tests must neither read a developer's
 * ~/.cache/slicewise/tool-models.json nor write into it. CLI processes a test starts inherit it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-test-models-"))
process.env.SLICEWISE_MODELS = path.join(dir, "tool-models.json")
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
