import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A store of tool models of its own per test file; a turn of the event loop after each test (see the files).
    setupFiles: ["test/support/isolated-models.ts", "test/support/yield-to-runner.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
