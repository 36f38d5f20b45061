import { readFileSync, realpathSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { DEFAULT_METRIC_PREFIX, metricNamesIn } from "../support/rules.js"
import { repoPath } from "../support/tools.js"
import { DASHBOARD, loadDashboard, panelsOf, queriesOf, withoutGrafanaVariables } from "./DashboardQueries.js"
import { exportedMetrics, missingMetrics } from "./ExportedMetrics.js"

/** prom-client's runtime names (process_*, nodejs_*): not under the service prefix, by convention. */
const isRuntimeMetric = (name: string) => name.startsWith("process_") || name.startsWith("nodejs_")

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
const DATASOURCE_VARIABLE = "${datasource}"
const dashboard = loadDashboard()
const queries = queriesOf(dashboard)

describe("Grafana dashboard", () => {
  it("is an importable dashboard: title, uid, schemaVersion, a Prometheus datasource variable, no fixed id", () => {
    expect(dashboard.title).toBe("security-agent")
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/)
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(dashboard.id).toBeNull()
    const datasource = dashboard.templating.list.find((v: any) => v.type === "datasource")
    expect(datasource).toMatchObject({ name: "datasource", query: "prometheus" })
  })

  it("has unique panel ids, panels inside the 24-column grid, and every query on the datasource variable", () => {
    const panels = panelsOf(dashboard)
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length)
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24)
      expect(panel.gridPos.h, panel.title).toBeGreaterThan(0)
      if (panel.type === "row") continue
      expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0)
      expect(panel.datasource?.uid, panel.title).toBe(DATASOURCE_VARIABLE)
      const refIds = (panel.targets ?? []).map((t) => t.refId)
      expect(new Set(refIds).size, panel.title).toBe(refIds.length)
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid, panel.title).toBe(DATASOURCE_VARIABLE)
        expect(target.expr.trim(), panel.title).not.toBe("")
      }
    }
  })

  it("covers turns and latency, routes, handoffs, tools (with a latency heatmap), guardrails, Self-RAG, tokens and dropped events", () => {
    const all = queries.map((q) => q.target.expr).join("\n")
    for (const metric of [
      "agent_turn_latency_seconds_bucket",
      "agent_route_total",
      "agent_handoff_total",
      "agent_tool_calls_total",
      "agent_tool_latency_seconds_bucket",
      "agent_guardrail_total",
      "agent_selfrag_decision_total",
      "agent_trace_events_dropped_total",
      "chat_requests_total"
    ]) {
      expect(all).toContain(`${DEFAULT_METRIC_PREFIX}${metric}`)
    }
    expect(all).toContain("gen_ai_client_token_usage_sum")
    expect(all).toContain("gen_ai_client_operation_duration_seconds")
    const heatmap = panelsOf(dashboard).find((p) => p.type === "heatmap")
    expect(heatmap?.targets?.[0]?.expr).toContain("agent_tool_latency_seconds_bucket")
    const byGateAndReason = queries.find((q) => /by \(gate, reason\)/.test(q.target.expr))
    expect(byGateAndReason).toBeDefined()
  })

  it("names its metrics with the default prefix only, so one rewrite retargets it to another AGENT_METRICS_NAMESPACE", () => {
    const text = readFileSync(DASHBOARD, "utf8")
    const rewritten = loadDashboard(text.replaceAll(DEFAULT_METRIC_PREFIX, "waf_team_"))
    for (const { target } of queriesOf(rewritten)) {
      for (const name of metricNamesIn(withoutGrafanaVariables(target.expr))) {
        expect(name.startsWith("waf_team_") || name.startsWith("gen_ai_client_") || isRuntimeMetric(name), name).toBe(
          true
        )
      }
    }
  })

  it("queries only metrics the service exports", async () => {
    const exported = await exportedMetrics()
    const exprs = queries.map((q) => withoutGrafanaVariables(q.target.expr))
    expect(missingMetrics(exprs, exported)).toEqual([])
  })

  it("is scoped for a shared cluster: namespace and job variables, and every selector filtered by both", () => {
    const variables = dashboard.templating.list
    for (const name of ["namespace", "job"]) {
      const variable = variables.find((v: any) => v.name === name)
      expect(variable, name).toMatchObject({ type: "query", includeAll: true, multi: true })
      expect(variable.definition, name).toContain(`label_values(${DEFAULT_METRIC_PREFIX}build_info`)
    }
    for (const { panel, target } of queries) {
      const selectors = [
        ...target.expr.matchAll(/\b((?:security_agent|gen_ai_client|process|nodejs)_[a-z0-9_]+)(\{[^}]*\})?/g)
      ]
      expect(selectors.length, panel.title).toBeGreaterThan(0)
      for (const [, name, matchers] of selectors) {
        expect(matchers, `${panel.title}: ${name}`).toContain('namespace=~"$namespace"')
        expect(matchers, `${panel.title}: ${name}`).toContain('job=~"$job"')
      }
    }
  })

  it("shows LLM cost, the WAF's protection mode, runtime (CPU, memory, event loop, GC) and running versions", () => {
    const all = queries.map((q) => q.target.expr).join("\n")
    for (const metric of [
      `${DEFAULT_METRIC_PREFIX}llm_cost_usd_total`,
      `${DEFAULT_METRIC_PREFIX}waf_protection_mode`,
      `${DEFAULT_METRIC_PREFIX}build_info`,
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_heap_size_used_bytes",
      "nodejs_eventloop_lag_p99_seconds",
      "nodejs_gc_duration_seconds_sum"
    ]) {
      expect(all, metric).toContain(metric)
    }
  })

  it("is one file: deploy/grafana/ links to the chart's copy", () => {
    expect(realpathSync(repoPath("deploy", "grafana", "security-agent-dashboard.json"))).toBe(realpathSync(DASHBOARD))
  })
})
