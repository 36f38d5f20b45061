import { existsSync, readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import {
  alertRules,
  CHART_DIR,
  DEFAULT_METRIC_PREFIX,
  metricNamesIn,
  PROMETHEUS_RULE,
  RULES_FILE_NAME,
  RULES_SOURCE,
  RUNBOOK_PLACEHOLDER,
  ruleGroupsOf,
  ruleGroupsOfFile,
  ruleTestFiles
} from "../support/rules.js"
import { repoPath } from "../support/tools.js"
import { exportedMetrics, missingMetrics, SCRAPE_METRICS } from "./ExportedMetrics.js"

const RUNBOOK_DOC = "docs/agent-observability-runbook.md"
const values = parse(readFileSync(`${CHART_DIR}/values.yaml`, "utf8"))
const runbookBase: string = values.prometheusRule.runbookBaseUrl
const source = ruleGroupsOfFile(RULES_SOURCE)
const deployed = ruleGroupsOf(readFileSync(PROMETHEUS_RULE, "utf8"))
const alerts = alertRules(deployed)

/** Every alert_rule_test of every promtool unit test file. */
const ruleTests = ruleTestFiles().flatMap(({ name, content }) =>
  (content.tests as Array<any>).flatMap((group) =>
    (group.alert_rule_test as Array<any>).map((t) => ({
      file: name,
      group: group.name as string,
      alertname: t.alertname as string,
      fires: Array.isArray(t.exp_alerts) && t.exp_alerts.length > 0
    }))
  )
)

describe("alert rules", () => {
  it("deploy/k8s/observability/prometheus-rule.yaml holds exactly the chart's rule groups (run render-prometheus-rule.sh after editing them)", () => {
    const expected = JSON.parse(JSON.stringify(source).replaceAll(RUNBOOK_PLACEHOLDER, runbookBase))
    expect(deployed).toEqual(expected)
  })

  it("has unique alert names, a severity, a `for`, and summary, description and runbook_url on every alert", () => {
    expect(alerts.length).toBeGreaterThanOrEqual(10)
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length)
    for (const rule of alerts) {
      expect(rule.alert, rule.alert).toMatch(/^SecurityAgent[A-Z][A-Za-z]+$/)
      expect(["critical", "warning", "info"], rule.alert).toContain(rule.labels?.severity)
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/)
      for (const key of ["summary", "description", "runbook_url"]) {
        expect(rule.annotations?.[key]?.length ?? 0, `${rule.alert} ${key}`).toBeGreaterThan(10)
      }
    }
  })

  it("points every runbook_url at the alert's own heading (`### Alert: <Name>`) in the runbook", () => {
    for (const rule of alerts) {
      expect(rule.annotations?.runbook_url).toBe(`${runbookBase}/${RUNBOOK_DOC}#alert-${rule.alert.toLowerCase()}`)
    }
    for (const rule of alertRules(source)) {
      expect(rule.annotations?.runbook_url?.startsWith(`${RUNBOOK_PLACEHOLDER}/`), rule.alert).toBe(true)
    }
  })

  it.skipIf(!existsSync(repoPath(RUNBOOK_DOC)))("has a runbook section for every alert", () => {
    const headings = new Set(
      [...readFileSync(repoPath(RUNBOOK_DOC), "utf8").matchAll(/^#{2,4} Alert: (\S+)\s*$/gm)].map((m) => m[1])
    )
    for (const rule of alerts) expect(headings, `${RUNBOOK_DOC} lacks "### Alert: ${rule.alert}"`).toContain(rule.alert)
  })

  it("uses the default metric prefix (the chart rewrites it for another AGENT_METRICS_NAMESPACE)", () => {
    for (const rule of alerts) {
      for (const name of metricNamesIn(rule.expr)) {
        expect(
          name.startsWith(DEFAULT_METRIC_PREFIX) || name.startsWith("gen_ai_client_") || SCRAPE_METRICS.includes(name),
          `${rule.alert} reads ${name}`
        ).toBe(true)
      }
    }
  })

  it("reads only metrics the service exports", async () => {
    const exported = await exportedMetrics()
    const names = alerts.flatMap((r) => metricNamesIn(r.expr))
    expect(names.length).toBeGreaterThan(alerts.length)
    expect(
      missingMetrics(
        alerts.map((r) => r.expr),
        exported
      )
    ).toEqual([])
  })

  it("keeps the alert names of the original plan, so existing routes and silences still match", () => {
    const names = alerts.map((a) => a.alert)
    for (const name of [
      "SecurityAgentToolFailureHigh",
      "SecurityAgentSelfRagEscalationHigh",
      "SecurityAgentGuardrailDenySpike",
      "SecurityAgentReadinessAndChatFailure"
    ]) {
      expect(names).toContain(name)
    }
  })

  it("keeps namespace and job in every aggregation, so each release on a shared cluster alerts on its own series", () => {
    for (const rule of alerts) {
      for (const m of rule.expr.matchAll(/\b(sum|max|min|count|avg)\s*(by\s*\(([^)]*)\))?\s*\(/g)) {
        expect(m[2], `${rule.alert}: ${m[0]}`).toBeDefined()
        const labels = m[3]!.split(",").map((l) => l.trim())
        expect(labels, `${rule.alert}: ${m[0]}`).toEqual(expect.arrayContaining(["namespace", "job"]))
      }
    }
  })

  it("pages on a target that is down or gone, and on WAF protection left off", () => {
    const byName = new Map(alerts.map((a) => [a.alert, a]))
    expect(byName.get("SecurityAgentTargetDown")?.expr).toMatch(/\bup\{[^}]*\} == 0/)
    expect(byName.get("SecurityAgentMetricsAbsent")?.expr).toContain("absent(security_agent_build_info)")
    expect(byName.get("SecurityAgentWafProtectionOff")?.expr).toContain(
      'security_agent_waf_protection_mode{mode=~"disable|dry_run"}'
    )
  })

  it("has promtool unit tests where every alert fires and where it stays quiet, and no test of an unknown alert", () => {
    for (const { content } of ruleTestFiles()) expect(content.rule_files).toEqual([RULES_FILE_NAME])
    const names = new Set(alerts.map((a) => a.alert))
    for (const test of ruleTests) expect(names, `${test.file}: ${test.group}`).toContain(test.alertname)
    for (const rule of alerts) {
      const cases = ruleTests.filter((t) => t.alertname === rule.alert)
      expect(
        cases.some((t) => t.fires),
        `${rule.alert} has a case where it fires`
      ).toBe(true)
      expect(
        cases.some((t) => !t.fires),
        `${rule.alert} has a case where it stays quiet`
      ).toBe(true)
    }
  })
})

describe("metricNamesIn", () => {
  it("finds the selected metrics, not functions, grouping labels, matchers, keywords or durations", () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, tool) (rate(a_seconds_bucket{tool!="x",le=~"1"}[5m] offset 1h))) > 1e3 and on (tool) b_total unless ignoring(x) group_left c:rec'
      )
    ).toEqual(["a_seconds_bucket", "b_total", "c:rec"])
    expect(metricNamesIn("sum(rate(x_total[$__rate_interval])) / sum(increase(y_total[$__range]))")).toEqual([
      "x_total",
      "y_total"
    ])
  })
})
