/**
 * The CLI's terminal (src/cli/terminal.ts) is @effect/platform-node's, made on first use: what it
 * answers is what that terminal answers. (That a run never makes it is checked on the bundled CLI
 * in bundle.test.ts.)
 */
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Terminal from "@effect/platform/Terminal"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import { lazyTerminalLayer } from "../../src/cli/terminal.js"

const answers = Effect.gen(function* () {
  const t = yield* Terminal.Terminal
  return { columns: yield* t.columns, rows: yield* t.rows, isTTY: yield* t.isTTY }
})

describe("the CLI's terminal", () => {
  it("answers as @effect/platform-node's terminal", async () => {
    const lazy = await Effect.runPromise(Effect.provide(answers, lazyTerminalLayer))
    const real = await Effect.runPromise(Effect.provide(answers, NodeTerminal.layer))
    expect(lazy).toEqual(real)
  })
})
