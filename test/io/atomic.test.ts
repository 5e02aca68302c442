/**
 * The shared atomic-output steps (src/io/atomic.ts): temporary names, what may be replaced, commit
 * of a file and of a TIFF-only directory, and removal of temporaries.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import {
  removeOrphanTemporaries,
  checkReplaceableFile,
  checkReplaceableStack,
  commitDirectory,
  commitFile,
  pathKind,
  removeQuietly,
  removeTemporary,
  temporaryName,
  temporarySuffix
} from "../../src/io/atomic.js"
import { FileError } from "../../src/algebra/io-errors.js"
import { failure, removeTempDirs, run, tempDir } from "./tiff-helpers.js"

afterAll(removeTempDirs)

describe("temporary names", () => {
  it("are <target>.partial-<pid>-<random>, next to the target, fresh each time", () => {
    const a = temporaryName("/out/v.tif")
    expect(a).toMatch(new RegExp(`^/out/v\\.tif\\.partial-${process.pid}-[0-9a-f]{12}$`))
    expect(temporaryName("/out/v.tif")).not.toBe(a)
    const suffix = temporarySuffix()
    expect(temporaryName("v.raw", suffix)).toBe(`v.raw${suffix}`)
    expect(temporaryName("v.nhdr", suffix)).toBe(`v.nhdr${suffix}`)
  })
})

describe("what may be replaced", () => {
  it("pathKind tells none, file and dir apart", async () => {
    const dir = tempDir()
    fs.writeFileSync(nodePath.join(dir, "f"), "x")
    expect(await run(pathKind(nodePath.join(dir, "none")))).toBe("none")
    expect(await run(pathKind(nodePath.join(dir, "f")))).toBe("file")
    expect(await run(pathKind(dir))).toBe("dir")
    expect(await run(pathKind("/dev/null"))).toBe("other")
  })

  it("a file output replaces nothing but a regular file", async () => {
    const dir = tempDir()
    fs.writeFileSync(nodePath.join(dir, "f.tif"), "x")
    await run(checkReplaceableFile(nodePath.join(dir, "none.tif")))
    await run(checkReplaceableFile(nodePath.join(dir, "f.tif")))
    const e = (await failure(checkReplaceableFile(dir))) as FileError
    expect(e.message).toBe(`cannot create ${dir}: is a directory; refusing to replace it with a file`)
    expect(((await failure(checkReplaceableFile("/dev/null"))) as FileError).detail).toBe("exists and is not a regular file")
  })

  it("a stack output replaces only a directory of .tif/.tiff files", async () => {
    const dir = tempDir()
    const stack = nodePath.join(dir, "s")
    await run(checkReplaceableStack(stack))
    fs.mkdirSync(stack)
    fs.writeFileSync(nodePath.join(stack, "a.tif"), "x")
    fs.writeFileSync(nodePath.join(stack, "b.TIFF"), "x")
    await run(checkReplaceableStack(stack))
    for (const name of ["notes.txt", "c.png", "d.tif.bak", "e.jpg"]) fs.writeFileSync(nodePath.join(stack, name), "x")
    const e = (await failure(checkReplaceableStack(stack))) as FileError
    expect(e.operation).toBe("create")
    expect(e.detail).toMatch(/^directory exists and holds more than \.tif\/\.tiff files \(.+, .+, .+, …\); refusing to replace it/)
    const file = nodePath.join(dir, "f")
    fs.writeFileSync(file, "x")
    expect(((await failure(checkReplaceableStack(file))) as FileError).detail).toBe(
      "exists and is not a directory; refusing to replace it"
    )
  })
})

describe("commit", () => {
  it("commitFile renames the temporary over the target; a directory in the way is refused", async () => {
    const dir = tempDir()
    const target = nodePath.join(dir, "v.tif")
    fs.writeFileSync(target, "old")
    const tmp = temporaryName(target)
    fs.writeFileSync(tmp, "new")
    await run(commitFile(tmp, target))
    expect(fs.readdirSync(dir)).toEqual(["v.tif"])
    expect(fs.readFileSync(target, "utf8")).toBe("new")
    const blocked = nodePath.join(dir, "d.tif")
    fs.mkdirSync(blocked)
    const tmp2 = temporaryName(blocked)
    fs.writeFileSync(tmp2, "new")
    expect(await failure(commitFile(tmp2, blocked))).toBeInstanceOf(FileError)
    expect(fs.existsSync(tmp2)).toBe(true)
    const gone = (await failure(commitFile(nodePath.join(dir, "gone"), target))) as FileError
    expect([gone.path, gone.operation]).toEqual([target, "rename"])
  })

  it("commitDirectory moves a new directory in, or replaces a TIFF-only one and removes the old", async () => {
    const dir = tempDir()
    const target = nodePath.join(dir, "s")
    const make = (names: string[]) => {
      const tmp = temporaryName(target)
      fs.mkdirSync(tmp)
      for (const n of names) fs.writeFileSync(nodePath.join(tmp, n), n)
      return tmp
    }
    await run(commitDirectory(make(["a.tif"]), target))
    expect(fs.readdirSync(target)).toEqual(["a.tif"])
    await run(commitDirectory(make(["b.tif", "c.tif"]), target))
    expect(fs.readdirSync(target).sort()).toEqual(["b.tif", "c.tif"])
    expect(fs.readdirSync(dir)).toEqual(["s"])
    fs.writeFileSync(nodePath.join(target, "keep.txt"), "x")
    const tmp = make(["d.tif"])
    expect(((await failure(commitDirectory(tmp, target))) as FileError).detail).toContain("keep.txt")
    expect(fs.readdirSync(target).sort()).toEqual(["b.tif", "c.tif", "keep.txt"])
  })
})

describe("removal", () => {
  it("removes files and trees; a missing path is fine; removeQuietly never fails", async () => {
    const dir = tempDir()
    const file = nodePath.join(dir, "f.partial-1-2")
    const tree = nodePath.join(dir, "t.partial-1-2")
    fs.writeFileSync(file, "x")
    fs.mkdirSync(nodePath.join(tree, "sub"), { recursive: true })
    fs.writeFileSync(nodePath.join(tree, "sub", "a.tif"), "x")
    await run(removeTemporary(file))
    await run(removeTemporary(tree))
    await run(removeTemporary(nodePath.join(dir, "never-there")))
    expect(fs.readdirSync(dir)).toEqual([])
    // A path whose parent is a file fails with ENOTDIR for rm: quietly ignored.
    fs.writeFileSync(file, "x")
    await run(removeQuietly(nodePath.join(file, "child")))
  })
})

describe("removeOrphanTemporaries", () => {
  it("removes the other temporaries of the same outputs, and nothing else", async () => {
    const dir = tempDir()
    const ours = nodePath.join(dir, "v.nrrd.partial-42-0123456789ab")
    const names = [
      "v.nrrd.partial-42-0123456789ab", // ours
      "v.nrrd.partial-17-aaaaaaaaaaaa", // a killed run's: removed
      "v.nrrd", // the output
      "v.nrrd.slicewise-journal",
      "v.nrrd.slicewise-journal.partial-17-bbbbbbbbbbbb", // the journal's draft: journal.ts's business
      "w.nrrd.partial-17-cccccccccccc", // another output's
      "v.nrrd.partial-notours" // not a temporary name
    ]
    for (const n of names) fs.writeFileSync(nodePath.join(dir, n), "x")
    await run(removeOrphanTemporaries([ours]))
    expect(fs.readdirSync(dir).sort()).toEqual(names.filter((n) => n !== "v.nrrd.partial-17-aaaaaaaaaaaa").sort())
  })
})
