/**
 * The sampler's timer survives a moment when the RSS cannot be read: with every file descriptor
 * in use (a batch of many jobs under a low `ulimit -n`), `process.memoryUsage.rss()` throws EMFILE,
 * and a throw in the timer ended the process without its scopes' clean-up (partial outputs,
 * spills and locks left behind). Now such a moment gives no sample, and sampling goes on.
 */
import * as Effect from "effect/Effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { residentBytes, startSampler } from "../../src/profile/sampler.js"

const emfile = () => Object.assign(new Error("EMFILE: too many open files, uv_resident_set_memory"), { code: "EMFILE", errno: -24 })

afterEach(() => vi.restoreAllMocks())

describe("sampler without file descriptors", () => {
  it("skips the samples it cannot take and goes on sampling", async () => {
    const samples = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const sampler = yield* startSampler({ intervalMs: 2 })
          const taken = sampler.samples.length
          const rss = vi.spyOn(process.memoryUsage, "rss").mockImplementation(() => {
            throw emfile()
          })
          yield* Effect.sleep("30 millis")
          expect(sampler.samples.length).toBe(taken)
          rss.mockRestore()
          yield* Effect.sleep("30 millis")
          return sampler.samples
        })
      )
    )
    expect(samples.length).toBeGreaterThan(2)
    for (const s of samples) expect(s.rssBytes).toBeGreaterThan(0)
  })

  it("residentBytes: undefined when the RSS cannot be read", () => {
    expect(residentBytes()).toBeGreaterThan(0)
    vi.spyOn(process.memoryUsage, "rss").mockImplementation(() => {
      throw emfile()
    })
    expect(residentBytes()).toBeUndefined()
  })
})
