/**
 * The terminal @effect/cli asks for, made only when something uses it. Making @effect/platform-node's
 * terminal reads `process.stdin`, which starts a stream on standard input (a socket for a pipe, a
 * file stream for /dev/null): 2.1 MiB of resident memory in every run, though only prompts
 * (`--wizard`) read from it (docs/BENCHMARKS.md, "Peak RSS: every run within a third of scipy's").
 *
 * @example
 * ```ts
 * Effect.runFork(main(process.argv).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, lazyTerminalLayer))))
 * ```
 */
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Terminal from "@effect/platform/Terminal"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"

export const lazyTerminalLayer: Layer.Layer<Terminal.Terminal> = Layer.scoped(
  Terminal.Terminal,
  Effect.gen(function* () {
    // The real terminal, made once on first use, lives as long as this layer.
    const scope = yield* Effect.scope
    const real = yield* Effect.cached(Scope.extend(NodeTerminal.make(), scope))
    return Terminal.Terminal.of({
      columns: Effect.flatMap(real, (t) => t.columns),
      rows: Effect.flatMap(real, (t) => t.rows),
      isTTY: Effect.flatMap(real, (t) => t.isTTY),
      readInput: Effect.flatMap(real, (t) => t.readInput),
      readLine: Effect.flatMap(real, (t) => t.readLine),
      display: (text) => Effect.flatMap(real, (t) => t.display(text))
    })
  })
)
