import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { metricFamilies } from "../support/exposition.js"
import { recordEverySignal } from "../support/fullExposition.js"
import { testObservability } from "../support/layers.js"
import { runTool } from "../support/tools.js"

const AWKWARD = ['quote"inside', "back\\slash", "new\nline", "unicode ✓ 日本語 🔥", "", "trailing\\"]

describe("Prometheus exposition checked by promtool", () => {
  it.effect("every metric, with awkward label values, passes `promtool check metrics` with no duplicate series", () =>
    Effect.gen(function* () {
      const { text, namespace: ns } = yield* recordEverySignal(AWKWARD)
      const result = runTool("promtool", ["check", "metrics"], text)
      expect(result.output).toBe("")
      expect(result.status).toBe(0)

      const series = text
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => l.slice(0, l.lastIndexOf(" ")))
      expect(new Set(series).size).toBe(series.length)

      const families = metricFamilies(text)
      for (const [name, type] of [
        [`${ns}_agent_route_total`, "counter"],
        [`${ns}_agent_handoff_total`, "counter"],
        [`${ns}_agent_tool_calls_total`, "counter"],
        [`${ns}_agent_tool_latency_seconds`, "histogram"],
        [`${ns}_agent_guardrail_total`, "counter"],
        [`${ns}_agent_selfrag_decision_total`, "counter"],
        [`${ns}_agent_turn_latency_seconds`, "histogram"],
        [`${ns}_agent_trace_events_total`, "counter"],
        [`${ns}_agent_trace_events_dropped_total`, "counter"],
        [`${ns}_chat_requests_total`, "counter"],
        [`${ns}_chat_failures_total`, "counter"],
        [`${ns}_chat_rejected_total`, "counter"],
        [`${ns}_chat_latency_seconds`, "histogram"],
        [`${ns}_health_checks_total`, "counter"],
        [`${ns}_readiness_checks_total`, "counter"],
        [`${ns}_readiness_failures_total`, "counter"],
        [`${ns}_dependency_up`, "gauge"],
        ["gen_ai_client_operation_duration_seconds", "histogram"],
        ["gen_ai_client_token_usage", "histogram"],
        [`${ns}_build_info`, "gauge"],
        [`${ns}_llm_cost_usd_total`, "counter"],
        [`${ns}_waf_protection_mode`, "gauge"],
        [`${ns}_waf_protection_mode_reads_total`, "counter"],
        ["process_cpu_seconds_total", "counter"],
        ["process_resident_memory_bytes", "gauge"],
        ["nodejs_heap_size_used_bytes", "gauge"],
        ["nodejs_eventloop_lag_p99_seconds", "gauge"],
        ["nodejs_gc_duration_seconds", "histogram"]
      ] as const) {
        expect(families.get(name), name).toBe(type)
      }
      expect(text).toContain(`${ns}_agent_route_total{selected_agent="monitor"} 1\n`)
      expect(text).toContain('gen_ai_request_model="quote\\"inside"')
      expect(text).toContain('gen_ai_request_model="new\\nline"')
    }).pipe(Effect.provide(testObservability()))
  )
})
