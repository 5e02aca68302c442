import { describe, expect, it } from "vitest"
import type { Algebra, Repr, Volume } from "../../src/algebra/algebra.js"

// Compile-time checks: `npm test` type-checks this file, so each @ts-expect-error must stay an error.
export const mixedDtypes = <F extends Repr>(alg: Algebra<F>, a: Volume<F, "uint8">, b: Volume<F, "float32">) => {
  // @ts-expect-error zip of a uint8 and a float32 volume does not compile
  const zipped = alg.zip([a, b], (x) => x!)
  // @ts-expect-error a float32 volume is not a uint8 volume
  const wrong: Volume<F, "uint8"> = b
  const cast = alg.map(a, (x) => x, { dtype: "float32" })
  const ok = alg.zip([cast, b], (x) => x!)
  return { zipped, wrong, ok }
}

describe("algebra types", () => {
  it("is checked by tsc (see the @ts-expect-error lines above)", () => {
    expect(typeof mixedDtypes).toBe("function")
  })
})
