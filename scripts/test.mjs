#!/usr/bin/env node
// `npm test`'s runner: vitest over every test file but the cluster's, then the cluster's tests on
// their own, one file at a time. The cluster tests start PostgreSQL and several runner processes;
// on a 2-core machine, beside the other files they starve vitest's own workers of CPU (an
// "onTaskUpdate" timeout with every test passing). Arguments go to both runs; with file filters,
// one run with those filters only. `--outputFile.json=F` gets the two runs' reports merged.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"

const args = process.argv.slice(2)
const vitest = (extra) => spawnSync("npx", ["vitest", "run", ...extra], { stdio: "inherit" }).status ?? 1
const filtered = args.some((a) => !a.startsWith("-"))
if (filtered) process.exit(vitest(args))

const jsonArg = args.find((a) => a.startsWith("--outputFile.json="))
const json = jsonArg?.slice("--outputFile.json=".length)
const withJson = (suffix) => args.map((a) => (a === jsonArg ? `${a}.${suffix}` : a))

const main = vitest([...withJson("main"), "--exclude", "test/cluster/**"])
const cluster = vitest([...withJson("cluster"), "--no-file-parallelism", "test/cluster/"])

if (json !== undefined) {
  const read = (suffix) => {
    try {
      return JSON.parse(fs.readFileSync(`${json}.${suffix}`, "utf8"))
    } catch {
      return undefined
    }
  }
  const parts = [read("main"), read("cluster")].filter((r) => r !== undefined)
  const sum = (key) => parts.reduce((n, r) => n + (r[key] ?? 0), 0)
  const merged = {
    ...parts[0],
    numTotalTests: sum("numTotalTests"),
    numPassedTests: sum("numPassedTests"),
    numFailedTests: sum("numFailedTests"),
    numPendingTests: sum("numPendingTests"),
    numTotalTestSuites: sum("numTotalTestSuites"),
    numFailedTestSuites: sum("numFailedTestSuites"),
    numRuntimeErrorTestSuites: sum("numRuntimeErrorTestSuites"),
    success: parts.length === 2 && parts.every((r) => r.success),
    testResults: parts.flatMap((r) => r.testResults ?? [])
  }
  if (parts.length > 0) fs.writeFileSync(json, JSON.stringify(merged))
}
process.exit(main !== 0 ? main : cluster)
