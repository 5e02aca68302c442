// Sums a V8 CPU profile (`node --cpu-prof`) by function: self time (where the samples landed) and
// inclusive time (samples with the function anywhere on the stack), in ms, largest first. Names are
// the bundle's; an unminified bundle gives the sources' names back:
//
//   node scripts/bundle.mjs --out /tmp/sw-unmin --no-minify
//   node --max-semi-space-size=1 --expose-gc --optimize-for-size --no-sparkplug --cpu-prof \
//     --cpu-prof-interval 100 --cpu-prof-dir=/tmp/prof /tmp/sw-unmin/slicewise.mjs run IN/ OUT/ copy
//   node bench/profile-summary.mjs /tmp/prof/*.cpuprofile [TOP]
import * as fs from "node:fs"

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  console.error("usage: node bench/profile-summary.mjs PROFILE.cpuprofile [TOP]")
  process.exit(2)
}
const top = Number(topArg ?? 30)
const profile = JSON.parse(fs.readFileSync(file, "utf8"))
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
const nameOf = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber + 1}`

const self = new Map()
const inclusive = new Map()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const us = profile.timeDeltas[i] ?? 0
  total += us
  const leaf = nodes.get(profile.samples[i])
  self.set(nameOf(leaf), (self.get(nameOf(leaf)) ?? 0) + us)
  const seen = new Set()
  for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
    const n = nodes.get(id)
    if (n.callFrame.functionName === "" || n.callFrame.functionName === "(root)") continue
    const name = nameOf(n)
    if (seen.has(name)) continue
    seen.add(name)
    inclusive.set(name, (inclusive.get(name) ?? 0) + us)
  }
}
const show = (title, times) => {
  console.log(title)
  for (const [name, us] of [...times].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1000).toFixed(1).padStart(9)}  ${name}`)
}
console.log(`${(total / 1000).toFixed(1)} ms sampled on the main thread`)
show("self, ms", self)
show("inclusive (named functions), ms", inclusive)
