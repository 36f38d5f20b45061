// `npm run bench`: the benchmarks of docs/performance.md, run one after another on the compiled
// dist/ (or BENCH_DIST), printed as a table and written to bench/results/latest.json (or
// BENCH_OUT): {machine, generated_at, results: {<name>: {value, unit, target, pass, spread}}},
// details beside. Figures are medians of BENCH_RUNS runs (default 5), with min and max.
// `node --expose-gc bench/run.mjs overhead cpu` runs a subset.
import { mkdirSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { runApiBench } from "./api.mjs"
import { runCpuBench } from "./cpuPerTurn.mjs"
import { DIST } from "./dist.mjs"
import { runExpositionBench } from "./exposition.mjs"
import { runIsolated } from "./isolated.mjs"
import { describeMachine } from "./machine.mjs"
import { runOverheadBench } from "./overhead.mjs"
import { runTurnBudgetBench } from "./turnBudget.mjs"

/** Every figure is the median of this many runs (at least 5 for a published figure). */
const RUNS = Number(process.env.BENCH_RUNS ?? 5)

const BENCHMARKS = {
  overhead: () => runOverheadBench({ runs: RUNS, rounds: 30, warmup: 10 }),
  exposition: () => runExpositionBench({ iterations: 40 }),
  // In its own process: the loop delay and the rate are the sink's, not the other benchmarks' heaps'.
  trace_sink: () => runIsolated("./traceSink.mjs", "runTraceSinkBench", { runs: RUNS, turns: 25_000 }),
  cpu: () => runCpuBench({ runs: RUNS, turns: 1000 }),
  // What a turn cannot cost less than with this stack: LangGraph's invoke and a LangChain model call.
  turn_budget: () => runTurnBudgetBench({ runs: RUNS, calls: 2000 }),
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
  r.pass ? "pass" : "MISS",
  r.spread ?? ""
])
const header = ["benchmark", "value", "unit", "target", "result", "spread"]
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join("  ")
console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`)
for (const row of rows) console.log(line(row))

// BENCH_OUT writes elsewhere (e.g. a baseline run kept beside latest.json).
const out = process.env.BENCH_OUT ?? fileURLToPath(new URL("results/latest.json", import.meta.url))
mkdirSync(fileURLToPath(new URL("results/", import.meta.url)), { recursive: true })
writeFileSync(
  out,
  `${JSON.stringify(
    {
      machine,
      generated_at: new Date().toISOString(),
      dist: DIST,
      runs: RUNS,
      load_average: loadavg()
        .map((l) => l.toFixed(2))
        .join(" "),
      results,
      details
    },
    null,
    2
  )}\n`
)
console.log(`\nwritten to ${out}`)
