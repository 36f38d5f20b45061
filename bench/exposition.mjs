// Exposition at scale: /metrics rendered from Effect metrics by our renderer, against prom-client
// rendering the same series in the same process. Series look like the agent's: counters with
// three labels (90 %) and 8-bucket histograms with two labels (10 %).
import { performance } from "node:perf_hooks"
import { Metric, MetricBoundaries } from "effect"
import { Counter, Histogram, Registry } from "prom-client"
import { fromDist } from "./dist.mjs"
import { collectGarbage, median, round } from "./stats.mjs"

const { renderPrometheus } = await fromDist("observability/Prometheus.js")

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10]

/** Registers `series` label sets in both libraries, with the same values. */
const populate = (series, ns) => {
  const counters = Math.round(series * 0.9)
  const histograms = series - counters
  const effectCounter = Metric.counter(`${ns}_calls_total`, {
    incremental: true,
    description: "Calls by agent, tool and status"
  })
  const effectHistogram = Metric.histogram(
    `${ns}_latency_seconds`,
    MetricBoundaries.fromIterable(BUCKETS),
    "Latency in seconds"
  )
  const registry = new Registry()
  const promCounter = new Counter({
    name: `${ns}_calls_total`,
    help: "Calls by agent, tool and status",
    labelNames: ["agent", "status", "tool"],
    registers: [registry]
  })
  const promHistogram = new Histogram({
    name: `${ns}_latency_seconds`,
    help: "Latency in seconds",
    labelNames: ["agent", "tool"],
    buckets: BUCKETS,
    registers: [registry]
  })
  for (let i = 0; i < counters; i++) {
    const labels = {
      agent: `agent_${i % 50}`,
      status: i % 2 === 0 ? "ok" : "error",
      tool: `tool_${Math.floor(i / 100)}`
    }
    const value = (i % 97) + 1
    Metric.tagged(
      Metric.tagged(Metric.tagged(effectCounter, "agent", labels.agent), "status", labels.status),
      "tool",
      labels.tool
    ).unsafeUpdate(value, [])
    promCounter.inc(labels, value)
  }
  for (let i = 0; i < histograms; i++) {
    const labels = { agent: `agent_${i % 50}`, tool: `tool_${Math.floor(i / 50)}` }
    const tagged = Metric.tagged(Metric.tagged(effectHistogram, "agent", labels.agent), "tool", labels.tool)
    for (let k = 0; k < 5; k++) {
      const value = ((i + k) % 40) / 4
      tagged.unsafeUpdate(value, [])
      promHistogram.observe(labels, value)
    }
  }
  return { registry, include: (name) => name.startsWith(`${ns}_`) }
}

const sampleLines = (text) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length

/** Renders both ways, interleaved, and returns the median times in milliseconds. */
const compare = async (series, iterations) => {
  const ns = `bench_expo_${series}`
  const { registry, include } = populate(series, ns)
  // What GET /metrics does: snapshot every Effect metric, render the ones we own, and encode
  // the body as UTF-8 (both sides pay the encoding, so a lazily built string gains nothing).
  const ours = () => renderPrometheus(Metric.unsafeSnapshot(), include)
  const theirs = () => registry.metrics()
  const oursLines = sampleLines(ours())
  const theirsLines = sampleLines(await theirs())
  if (oursLines !== theirsLines)
    throw new Error(`sample counts differ at ${series} series: ${oursLines} vs ${theirsLines}`)
  for (let i = 0; i < 5; i++) {
    ours()
    await theirs()
  }
  collectGarbage()
  const oursMs = []
  const theirsMs = []
  for (let i = 0; i < iterations; i++) {
    const runOurs = async () => {
      const started = performance.now()
      Buffer.from(ours(), "utf8")
      oursMs.push(performance.now() - started)
    }
    const runTheirs = async () => {
      const started = performance.now()
      Buffer.from(await theirs(), "utf8")
      theirsMs.push(performance.now() - started)
    }
    if (i % 2 === 0) {
      await runOurs()
      await runTheirs()
    } else {
      await runTheirs()
      await runOurs()
    }
  }
  return { ours: median(oursMs), promClient: median(theirsMs), samples: oursLines }
}

export const runExpositionBench = async ({ iterations = 40 } = {}) => {
  const small = await compare(1000, iterations)
  const large = await compare(10000, iterations)
  const entry = (m) => ({
    value: round(m.ours, 2),
    unit: "ms per render (median)",
    target: `<= prom-client (${round(m.promClient, 2)} ms)`,
    pass: m.ours <= m.promClient
  })
  return {
    results: {
      exposition_1k_series_ms: entry(small),
      exposition_10k_series_ms: entry(large)
    },
    details: {
      iterations,
      series_1k: {
        ours_ms: round(small.ours, 2),
        prom_client_ms: round(small.promClient, 2),
        sample_lines: small.samples
      },
      series_10k: {
        ours_ms: round(large.ours, 2),
        prom_client_ms: round(large.promClient, 2),
        sample_lines: large.samples
      },
      ratio_10k: round(large.ours / large.promClient, 3)
    }
  }
}
