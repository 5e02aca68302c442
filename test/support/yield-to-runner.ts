/**
 * After each test, one turn of the event loop. Vitest's worker reports progress to the main process
 * over RPC with a 60 s timeout, and the reply is only read when the loop turns. A file of tests that
 * block synchronously (spawnSync of the CLI) runs test after test on promise callbacks alone, so on
 * a loaded machine the reply waited past the timeout and vitest reported an unhandled
 * "Timeout calling onTaskUpdate" though every test passed.
 */
import { afterEach } from "vitest"

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)))
