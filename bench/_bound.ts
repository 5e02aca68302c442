import * as Effect from "effect/Effect"
import fc from "fast-check"
import { sliceBytes } from "../src/algebra/volume.js"
import { runUnfused, broadcastLags } from "../src/interpreters/run/unfused.js"
import { programSpecArb, toProgram } from "../test/properties/arbitraries.js"
const arb = fc.tuple(programSpecArb, fc.integer({ min: 1, max: 40 })).map(([s, d]) => ({ ...s, shape: [d, 2, 3] as const }))
let worst = 0, n = 0, over = 0
await fc.assert(fc.asyncProperty(arb, async (spec) => {
  const { program } = toProgram(spec as any)
  const r = await Effect.runPromise(runUnfused(program))
  r.passes.forEach((p, i) => {
    const pp = r.plan.passes[i]!
    const lags = broadcastLags(pp)
    const cons = new Map<any, number>()
    for (const sp of pp.stages) { const x = sp.node; if (x.kind === "pointwise") x.inputs.forEach((i: any) => cons.set(i, (cons.get(i) ?? 0) + 1)); else if (x.kind === "window") cons.set(x.input, (cons.get(x.input) ?? 0) + 1) }
    for (const rr of pp.roots) cons.set(rr.input, (cons.get(rr.input) ?? 0) + 1)
    let bound = pp.bufferBytes
    for (const sp of pp.stages) if ((cons.get(sp.node) ?? 0) > 1) bound += (lags.get(sp.node)! + Number(process.env.EXTRA ?? 2)) * sliceBytes(sp.node.info)
    n++
    worst = Math.max(worst, p.peakBufferBytes / bound)
    if (p.peakBufferBytes > bound) { over++; if (process.argv[3]) { console.log(JSON.stringify(spec)); console.log(pp.stages.map(sp=>`#${sp.node.id} ${sp.node.kind} ${sp.node.label} L=${sp.latency} ring=${sp.ringSlices} lag=${(cons.get(sp.node)??0)>1?lags.get(sp.node):'-'} cons=${cons.get(sp.node)} inputs=${sp.node.kind==='pointwise'?sp.node.inputs.map((i:any)=>i.id):sp.node.kind==='window'?sp.node.input.id:''} measured=${r.stages.find(s=>s.pass===i&&s.id===sp.node.id)!.peakBufferBytes/sliceBytes(sp.node.info)}`).join('\n')); console.log('peak', p.peakBufferBytes, 'bound', bound, 'plan', pp.bufferBytes); throw new Error('over') } }
  })
  return true
}), { numRuns: Number(process.argv[2] ?? 2000) })
console.log({ n, worst, over })
