import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse, stringify } from "yaml"
import { loadDashboard, queriesOf, withoutGrafanaVariables } from "../deploy/DashboardQueries.js"
import { expandCollectorConfig } from "../deploy/Relabel.js"
import {
  alertRules,
  PROMETHEUS_RULE,
  promtool,
  RULES_SOURCE,
  ruleGroupsOf,
  ruleGroupsOfFile,
  stageRuleTests,
  writeRulesFile
} from "../support/rules.js"
import { repoPath } from "../support/tools.js"

const scratch = () => mkdtempSync(join(tmpdir(), "sa-promtool-"))
const groups = ruleGroupsOf(readFileSync(PROMETHEUS_RULE, "utf8"))

describe("alert rules checked by promtool", () => {
  it("`promtool check rules` accepts the PrometheusRule's groups", () => {
    const result = promtool(["check", "rules", writeRulesFile(scratch(), groups)])
    expect(result.status, result.output).toBe(0)
    expect(result.output).toContain(`SUCCESS: ${alertRules(groups).length} rules found`)
  })

  it("`promtool check rules` accepts the chart's source file as is (placeholder included)", () => {
    const result = promtool(["check", "rules", RULES_SOURCE])
    expect(result.status, result.output).toBe(0)
    expect(ruleGroupsOfFile(RULES_SOURCE).length).toBe(groups.length)
  })

  it("`promtool test rules` passes: every alert fires when it should and stays quiet when it should not", () => {
    const { testFiles } = stageRuleTests(groups)
    expect(testFiles.length).toBeGreaterThan(0)
    const result = promtool(["test", "rules", ...testFiles])
    expect(result.output).not.toContain("FAILED")
    expect(result.status, result.output).toBe(0)
  })

  it("`promtool test rules` fails when a rule no longer does what its tests say", () => {
    const broken = groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) =>
        r.alert === "SecurityAgentHandoffLoop" ? { ...r, expr: r.expr.replace("> 5", "> 7") } : r
      )
    }))
    const { testFiles } = stageRuleTests(broken)
    const result = promtool(["test", "rules", ...testFiles])
    expect(result.status).not.toBe(0)
    expect(result.output).toContain("alertname: SecurityAgentHandoffLoop")
  })
})

describe("Grafana dashboard queries checked by promtool", () => {
  it("parses every query (as a recording rule, Grafana variables replaced by 5m)", () => {
    const queries = queriesOf(loadDashboard())
    const rules = queries.map(({ target }, i) => ({
      record: `dashboard:query_${i}`,
      expr: withoutGrafanaVariables(target.expr)
    }))
    const file = writeRulesFile(scratch(), [{ name: "dashboard", rules }])
    const result = promtool(["check", "rules", file])
    expect(result.status, result.output).toBe(0)
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`)
  })
})

describe("OpenTelemetry Collector scrape config checked by promtool", () => {
  it("is a valid Prometheus scrape config once the collector has expanded it", () => {
    const config = parse(
      expandCollectorConfig(readFileSync(repoPath("deploy", "k8s", "observability", "otel-collector.yaml"), "utf8"), {
        SCRAPE_NAMESPACE: "agents"
      })
    ).receivers.prometheus.config
    // Debian's promtool is built without Kubernetes discovery: check the relabelling and the
    // rest of the job against a static target instead.
    for (const job of config.scrape_configs) {
      delete job.kubernetes_sd_configs
      job.static_configs = [{ targets: ["10.0.0.7:8081"] }]
    }
    const file = join(scratch(), "prometheus.yml")
    writeFileSync(file, stringify(config))
    const result = promtool(["check", "config", "--syntax-only", file])
    expect(result.status, result.output).toBe(0)
  })
})
