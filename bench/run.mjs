// `npm run bench`: the four benchmarks of docs/performance.md, run one after another on the
// compiled dist/, printed as a table and written to bench/results/latest.json
// ({machine, generated_at, results: {<name>: {value, unit, target, pass}}}, details beside).
// `node --expose-gc bench/run.mjs overhead exposition` runs a subset.
import { mkdirSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { runApiBench } from "./api.mjs"
import { runExpositionBench } from "./exposition.mjs"
import { describeMachine } from "./machine.mjs"
import { runOverheadBench } from "./overhead.mjs"
import { runTraceSinkBench } from "./traceSink.mjs"

const BENCHMARKS = {
  overhead: () => runOverheadBench({ rounds: 150, warmup: 10 }),
  exposition: () => runExpositionBench({ iterations: 40 }),
  trace_sink: () => runTraceSinkBench({ turns: 25_000 }),
  api: () => runApiBench({ duration: 10, sessions: 10_000 })
}

const selected = process.argv.slice(2)
const unknown = selected.filter((name) => !(name in BENCHMARKS))
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}: choose from ${Object.keys(BENCHMARKS).join(", ")}`)
  process.exit(2)
}
if (typeof globalThis.gc !== "function") console.error("note: run with node --expose-gc for steadier figures")

const machine = describeMachine()
console.log(
  `machine: ${machine.nproc} CPUs (${machine.cpu_model}), ${machine.memory_gib} GiB, node ${machine.node}, ${machine.platform}`
)
const results = {}
const details = {}
for (const name of selected.length > 0 ? selected : Object.keys(BENCHMARKS)) {
  const started = Date.now()
  process.stdout.write(`running ${name}... `)
  const outcome = await BENCHMARKS[name]()
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s`)
  Object.assign(results, outcome.results)
  details[name] = outcome.details
}

const rows = Object.entries(results).map(([name, r]) => [
  name,
  String(r.value),
  r.unit,
  r.target,
  r.pass ? "pass" : "MISS"
])
const header = ["benchmark", "value", "unit", "target", "result"]
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join("  ")
console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`)
for (const row of rows) console.log(line(row))

const out = fileURLToPath(new URL("results/latest.json", import.meta.url))
mkdirSync(fileURLToPath(new URL("results/", import.meta.url)), { recursive: true })
writeFileSync(
  out,
  `${JSON.stringify({ machine, generated_at: new Date().toISOString(), results, details }, null, 2)}\n`
)
console.log(`\nwritten to ${out}`)
