import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { SLICEWISE_VERSION } from "../../src/util/version.js"

describe("SLICEWISE_VERSION", () => {
  it("is package.json's version (journals of resumable runs record it)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")) as { version: string }
    expect(SLICEWISE_VERSION).toBe(pkg.version)
  })
})
