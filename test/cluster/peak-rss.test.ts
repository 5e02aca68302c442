/**
 * A runner's RSS sampling around a slicewise job (`withPeakRss`) survives moments when the RSS
 * cannot be read: with every file descriptor in use, `process.memoryUsage.rss()` throws EMFILE,
 * and thrown in the sampling timer it ended the runner. Needs no PostgreSQL.
 */
import * as Effect from "effect/Effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { withPeakRss } from "../../src/cluster/execute.js"

afterEach(() => vi.restoreAllMocks())

describe("withPeakRss", () => {
  it("gives the job's result and the peak RSS it sampled", async () => {
    const [result, peak] = await Effect.runPromise(withPeakRss(Effect.as(Effect.sleep("120 millis"), 42)))
    expect(result).toBe(42)
    expect(peak).toBeGreaterThan(0)
  })

  it("goes on when the RSS cannot be read (EMFILE), without an uncaught error", async () => {
    vi.spyOn(process.memoryUsage, "rss").mockImplementation(() => {
      throw Object.assign(new Error("EMFILE: too many open files, uv_resident_set_memory"), { code: "EMFILE" })
    })
    const [result, peak] = await Effect.runPromise(withPeakRss(Effect.as(Effect.sleep("250 millis"), "done")))
    expect(result).toBe("done")
    expect(peak).toBe(0)
  })
})
