import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A store of tool models of its own per test file (see the file).
    setupFiles: ["test/support/isolated-models.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
