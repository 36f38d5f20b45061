// Drift tests: the docs, .env.example and the chart cannot fall behind the code.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { CHANGE_AUDIT_PHASES, GUARDRAIL_GATES, GUARDRAIL_OUTCOMES } from "../../src/domain/Outcomes.js"
import {
  ACCESS_DENIED_REASONS,
  CHAT_REJECT_REASONS,
  TOKENS_FILE_RELOAD_RESULTS,
  TRACE_EVENTS
} from "../../src/observability/Labels.js"
import { familyLabels, fullExposition } from "../support/fullExposition.js"
import { alertRules, RULES_SOURCE, ruleGroupsOfFile } from "../support/rules.js"
import { repoPath, runTool } from "../support/tools.js"

const read = (...path: Array<string>) => readFileSync(repoPath(...path), "utf8")
const RUNBOOK = read("docs", "agent-observability-runbook.md")
const SECURITY = read("docs", "security.md")

/** The rows of the Markdown table that follows `heading`, as trimmed cells. */
const tableAfter = (doc: string, heading: string): Array<Array<string>> => {
  const section = doc.split(heading)[1]
  if (section === undefined) throw new Error(`no "${heading}" in the document`)
  const rows: Array<Array<string>> = []
  for (const line of section.split("\n").slice(1)) {
    if (line.startsWith("|"))
      rows.push(
        line
          .split("|")
          .slice(1, -1)
          .map((c) => c.trim())
      )
    else if (rows.length > 0) break
  }
  return rows
}
const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)
const DEFAULT_NS = "security_agent"

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

/** The metric dictionary rows: name → label names, from the runbook's first table. */
const dictionary = (): Map<string, Set<string>> => {
  const section = RUNBOOK.split("## Metric dictionary")[1]!.split("### ")[0]!
  const rows = new Map<string, Set<string>>()
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim())
    const name = cells[1]?.match(/^`([a-z0-9_]+)`$/)?.[1]
    if (name === undefined) continue
    rows.set(name, new Set([...(cells[3] ?? "").matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!)))
  }
  return rows
}

/** Every ```promql block in the docs. */
const promqlBlocks = (): Array<{ file: string; expr: string }> =>
  ["docs/agent-observability-runbook.md", "docs/k8s-deployment-observability.md"]
    .filter((f) => {
      try {
        statSync(repoPath(f))
        return true
      } catch {
        return false
      }
    })
    .flatMap((file) => [...read(file).matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => ({ file, expr: m[1]!.trim() })))

describe("docs drift", () => {
  let exported: Map<string, Set<string>>
  let namespace: string
  beforeAll(async () => {
    const full = await fullExposition()
    namespace = full.namespace
    exported = familyLabels(full.text)
  })
  const asDocumented = (name: string) => name.replace(new RegExp(`^${namespace}_`), `${DEFAULT_NS}_`)

  it("documents every exported metric, exports every documented one, with equal label sets", () => {
    const documented = dictionary()
    expect(documented.size).toBeGreaterThan(15)
    const exportedByDocName = new Map([...exported].map(([name, labels]) => [asDocumented(name), labels]))
    expect([...documented.keys()].sort()).toEqual([...exportedByDocName.keys()].sort())
    for (const [name, labels] of documented) {
      expect([...labels].sort(), name).toEqual([...exportedByDocName.get(name)!].sort())
    }
  })

  it("documents every trace event the code can emit", () => {
    const eventTable = RUNBOOK.split("## Trace events")[1]!.split("## Spans")[0]!
    for (const event of TRACE_EVENTS) expect(eventTable, event).toContain(`| \`${event}\``)
    // Events are only ever emitted under names from TRACE_EVENTS.
    for (const file of filesUnder(repoPath("src")).filter((f) => f.endsWith(".ts"))) {
      for (const m of readFileSync(file, "utf8").matchAll(/(?:emit|stampEvent)\(\s*"([a-z_.]+)"/g)) {
        expect(TRACE_EVENTS as ReadonlyArray<string>, `${file}: ${m[1]}`).toContain(m[1])
      }
    }
  })

  it("every PromQL block in the docs parses with promtool and names only exported metrics", () => {
    const blocks = promqlBlocks()
    expect(blocks.length).toBeGreaterThanOrEqual(8)
    const rules = {
      groups: [
        {
          name: "docs",
          rules: blocks.map((b, i) => ({ record: `docs:query_${i}`, expr: b.expr }))
        }
      ]
    }
    const dir = mkdtempSync(join(tmpdir(), "docs-promql-"))
    const file = join(dir, "rules.json")
    writeFileSync(file, JSON.stringify(rules))
    const check = runTool("promtool", ["check", "rules", file])
    expect(check.output).toContain("SUCCESS")
    const names = new Set([...exported.keys()].map(asDocumented))
    const labelNames = new Set([...exported.values()].flatMap((labels) => [...labels]))
    for (const { file: doc, expr } of blocks) {
      for (const m of expr.matchAll(/\b((?:security_agent|gen_ai)_[a-z_]+)/g)) {
        if (labelNames.has(m[1]!)) continue
        const family = m[1]!.replace(/_(bucket|sum|count)$/, "")
        expect(names.has(family) || names.has(m[1]!), `${doc}: ${m[1]}`).toBe(true)
      }
    }
  })

  it("every AppConfig variable is in .env.example, the configuration reference and the chart", () => {
    const source = read("src", "config", "AppConfig.ts")
    const variables = [...new Set([...source.matchAll(/\(\s*"([A-Z][A-Z0-9_]{2,})"/g)].map((m) => m[1]!))]
    expect(variables.length).toBeGreaterThan(40)
    const envExample = read(".env.example")
    const reference = read("docs", "configuration.md")
    const chart = filesUnder(repoPath("charts", "security-agent"))
      .map((f) => readFileSync(f, "utf8"))
      .join("\n")
    for (const variable of variables) {
      expect(envExample, `.env.example: ${variable}`).toMatch(new RegExp(`^${variable}=`, "m"))
      expect(reference, `docs/configuration.md: ${variable}`).toContain(`\`${variable}\``)
      expect(chart, `chart: ${variable}`).toContain(variable)
    }
  })

  it("documents every guardrail gate and every reason each gate can give, in the runbook", () => {
    const rows = tableAfter(RUNBOOK, "### Guardrail reasons, per gate")
    for (const gate of GUARDRAIL_GATES) {
      const reasons = new Set(
        rows.filter((r) => backticked(r[0] ?? "").includes(gate)).flatMap((r) => backticked(r[2] ?? ""))
      )
      for (const [, reason] of GUARDRAIL_OUTCOMES[gate]) expect(reasons, `${gate}/${reason}`).toContain(reason)
    }
  })

  it("lists every value of the closed label sets in the runbook", () => {
    const rows = tableAfter(RUNBOOK, "### Closed label sets")
    const valuesOf = (label: string) =>
      new Set(rows.filter((r) => (r[0] ?? "").includes(label)).flatMap((r) => backticked(r[1] ?? "")))
    const sets: Array<[string, ReadonlyArray<string>]> = [
      ["`gate`", GUARDRAIL_GATES],
      ["(chat rejections)", CHAT_REJECT_REASONS],
      ["(access denied)", ACCESS_DENIED_REASONS],
      ["`phase`", CHANGE_AUDIT_PHASES],
      ["`result`", TOKENS_FILE_RELOAD_RESULTS]
    ]
    for (const [label, values] of sets) {
      for (const value of values) expect(valuesOf(label), `${label} ${value}`).toContain(value)
    }
  })

  it("explains the security model: every refusal reason, the security alerts and the access settings", () => {
    for (const reason of ACCESS_DENIED_REASONS) expect(SECURITY, reason).toContain(reason)
    const security = ruleGroupsOfFile(RULES_SOURCE).find((g) => g.name === "security-agent.security")
    expect(security, "the security-agent.security rule group").toBeDefined()
    const alerts = alertRules([security!]).map((r) => r.alert)
    expect(alerts.length).toBeGreaterThanOrEqual(5)
    for (const alert of alerts) expect(SECURITY + RUNBOOK, alert).toContain(alert)
    const source = read("src", "config", "AppConfig.ts")
    const variables = [
      ...source.matchAll(
        /\(\s*"((?:ASSISTANT_API_(?:TOKEN|ALLOW|TRUSTED|RATE|BODY)|ASSISTANT_CODE_|CONFIRMATION_|GUARDRAIL_AUDIT_)[A-Z0-9_]*)"/g
      )
    ].map((m) => m[1]!)
    expect(variables.length).toBeGreaterThanOrEqual(12)
    for (const variable of new Set(variables)) {
      expect(SECURITY, `docs/security.md: ${variable}`).toMatch(new RegExp(`\`${variable}[\`=]`))
    }
  })
})
