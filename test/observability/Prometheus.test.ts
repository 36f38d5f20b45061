import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric, MetricBoundaries } from "effect"
import fc from "fast-check"
import { withLabels } from "../../src/observability/AgentMetrics.js"
import { renderPrometheus } from "../../src/observability/Prometheus.js"
import { uniqueNamespace } from "../support/layers.js"

const render = (prefix: string) => renderPrometheus(Metric.unsafeSnapshot(), (name) => name.startsWith(prefix))

describe("renderPrometheus", () => {
  it.effect("renders counters with labels sorted by name, HELP and TYPE once", () =>
    Effect.gen(function* () {
      const ns = uniqueNamespace()
      const calls = Metric.counter(`${ns}_tool_calls_total`, { incremental: true, description: "Tool calls" })
      yield* Metric.increment(
        withLabels(calls, { tool: "tool_set_protection_mode", agent: "config_manager", status: "ok" })
      )
      yield* Metric.increment(
        withLabels(calls, { status: "ok", tool: "tool_set_protection_mode", agent: "config_manager" })
      )
      const text = render(ns)
      expect(text).toContain(
        `${ns}_tool_calls_total{agent="config_manager",status="ok",tool="tool_set_protection_mode"} 2\n`
      )
      expect(text.match(/# TYPE /g)).toHaveLength(1)
      expect(text).toContain(`# HELP ${ns}_tool_calls_total Tool calls\n# TYPE ${ns}_tool_calls_total counter\n`)
    })
  )

  it.effect("renders histograms cumulatively in seconds with +Inf, _sum and _count", () =>
    Effect.gen(function* () {
      const ns = uniqueNamespace()
      const h = Metric.histogram(`${ns}_latency_seconds`, MetricBoundaries.fromIterable([0.1, 1, 5]), "Latency")
      for (const v of [0.05, 0.5, 0.7, 3, 30]) yield* Metric.update(h, v)
      const text = render(ns)
      expect(text).toContain(`${ns}_latency_seconds_bucket{le="0.1"} 1\n`)
      expect(text).toContain(`${ns}_latency_seconds_bucket{le="1"} 3\n`)
      expect(text).toContain(`${ns}_latency_seconds_bucket{le="5"} 4\n`)
      expect(text).toContain(`${ns}_latency_seconds_bucket{le="+Inf"} 5\n`)
      expect(text).toContain(`${ns}_latency_seconds_sum 34.25\n`)
      expect(text).toContain(`${ns}_latency_seconds_count 5\n`)
      expect(text.match(/le="\+Inf"/g)).toHaveLength(1)
    })
  )

  it.effect("escapes quotes, backslashes and newlines in label values", () =>
    Effect.gen(function* () {
      const ns = uniqueNamespace()
      const c = Metric.counter(`${ns}_weird_total`, { incremental: true })
      yield* Metric.increment(withLabels(c, { reason: 'a"b\\c\nd é 🔥' }))
      expect(render(ns)).toContain(`${ns}_weird_total{reason="a\\"b\\\\c\\nd é 🔥"} 1\n`)
    })
  )

  it("never renders a series twice, whatever the label values", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { minLength: 1, maxLength: 20 }), (pairs) => {
        const ns = uniqueNamespace()
        const c = Metric.counter(`${ns}_prop_total`, { incremental: true })
        for (const [a, b] of pairs) Effect.runSync(Metric.increment(withLabels(c, { a, b })))
        const lines = render(ns)
          .split("\n")
          .filter((l) => l !== "" && !l.startsWith("#"))
        const series = lines.map((l) => l.slice(0, l.lastIndexOf(" ")))
        expect(new Set(series).size).toBe(series.length)
        const total = lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0)
        expect(total).toBe(pairs.length)
      }),
      { numRuns: 50 }
    )
  })
})
