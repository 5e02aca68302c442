/**
 * Pages rendered by Debian's headless Chromium (package `chromium-headless-shell`), for tests that
 * check what a browser makes of a page, not only its HTML text. `probePage` loads a copy of the
 * page with a script appended that runs a probe over the laid-out DOM (querySelectorAll,
 * getBoundingClientRect …) and writes its JSON result into the document; Chromium's --dump-dom
 * gives the document back after load, and the result is read from it. Without Chromium it throws,
 * naming the package: the tests fail rather than skip (CI installs it).
 *
 * @example
 * ```ts
 * const bars = await probePage("report.html", () => document.querySelectorAll("rect.span").length)
 * const png = await screenshot("report.html", { width: 1000, height: 2000 })
 * ```
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

export const CHROMIUM = "/usr/bin/chromium-headless-shell"

const chromium = async (args: ReadonlyArray<string>): Promise<string> => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium-headless-shell (the report tests render pages in it)`)
  // Asynchronous: a render takes a second or more on a busy machine, and a synchronous call would
  // keep the test worker from answering vitest meanwhile. A user data directory of its own per call.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-chromium-"))
  try {
    const { stdout } = await run(CHROMIUM, ["--no-sandbox", "--disable-gpu", `--user-data-dir=${profile}`, ...args], {
      encoding: "utf8",
      maxBuffer: 64 * 2 ** 20,
      timeout: 60_000
    })
    return stdout
  } finally {
    fs.rmSync(profile, { recursive: true, force: true })
  }
}

/** The page's DOM as Chromium serialises it after loading it. */
export const dumpDom = (file: string): Promise<string> => chromium(["--dump-dom", `file://${path.resolve(file)}`])

/**
 * The little of the DOM a probe uses, typed here because the project compiles without lib "dom".
 * A test file declares `declare const document: ProbeElement` for its probes.
 */
export interface ProbeElement {
  readonly textContent: string | null
  getAttribute(name: string): string | null
  querySelector(selector: string): ProbeElement | null
  querySelectorAll(selector: string): ArrayLike<ProbeElement>
  closest(selector: string): ProbeElement | null
  getBoundingClientRect(): { readonly left: number; readonly right: number; readonly top: number; readonly bottom: number; readonly width: number; readonly height: number }
}

const MARK = "slicewise-probe-result"

/**
 * Runs `probe` in the page once Chromium has parsed and laid it out, and returns what it returned
 * (through JSON). The probe runs in the browser: it may use only the DOM, not this module's scope.
 */
export const probePage = async <T>(file: string, probe: () => T): Promise<T> => {
  const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-probe-")), path.basename(file))
  const script =
    // __name: the helper esbuild may wrap named functions in when it compiles this file.
    `<script>(() => { const __name = (f) => f; const out = document.createElement("pre"); out.id = "${MARK}"; ` +
    `try { out.textContent = JSON.stringify({ ok: (${probe.toString()})() }) } catch (e) { out.textContent = JSON.stringify({ error: String(e && e.stack || e) }) } ` +
    `document.body.appendChild(out) })()</script>`
  fs.writeFileSync(copy, fs.readFileSync(file, "utf8").replace(/<\/body>/i, `${script}</body>`))
  try {
    const dom = await dumpDom(copy)
    const m = new RegExp(`<pre id="${MARK}">([^<]*)</pre>`).exec(dom)
    if (m === null) throw new Error(`Chromium gave no probe result for ${file}; its DOM began: ${dom.slice(0, 300)}`)
    const text = m[1]!.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&")
    const result = JSON.parse(text) as { ok?: T; error?: string }
    if (result.error !== undefined) throw new Error(`the probe failed in Chromium: ${result.error}`)
    return result.ok as T
  } finally {
    fs.rmSync(path.dirname(copy), { recursive: true, force: true })
  }
}

/** A PNG of the page at the given window size. */
export const screenshot = async (file: string, size: { readonly width: number; readonly height: number }): Promise<Buffer> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-shot-"))
  try {
    const out = path.join(dir, "page.png")
    await chromium([`--screenshot=${out}`, `--window-size=${size.width},${size.height}`, "--hide-scrollbars", `file://${path.resolve(file)}`])
    return fs.readFileSync(out)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
