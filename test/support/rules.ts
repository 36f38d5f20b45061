// The deploy assets in tests: rule groups out of a PrometheusRule manifest (for promtool), the
// chart rendered by the real Helm, and the metric names a PromQL expression reads.
import { spawnSync } from "node:child_process"
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse, parseAllDocuments, stringify } from "yaml"
import { repoPath, requireTool } from "./tools.js"

export const CHART_DIR = repoPath("charts", "security-agent")
/** The one source of the alert rules: the chart's `groups:` file. */
export const RULES_SOURCE = repoPath("charts", "security-agent", "files", "prometheus-rules.yaml")
/** The PrometheusRule for clusters without the chart, generated from RULES_SOURCE. */
export const PROMETHEUS_RULE = repoPath("deploy", "k8s", "observability", "prometheus-rule.yaml")
export const RULE_TESTS_DIR = repoPath("deploy", "k8s", "observability", "tests")
/** The file name the promtool unit tests load (their `rule_files`). */
export const RULES_FILE_NAME = "prometheus-rules.yaml"
export const RUNBOOK_PLACEHOLDER = "RUNBOOK_BASE_URL"
export const DEFAULT_METRIC_PREFIX = "security_agent_"
/** Helm built from source assumes Kubernetes 1.20 unless told; the chart needs >= 1.25. */
export const KUBE_VERSION = "1.31.0"

export interface Rule {
  readonly alert?: string
  readonly record?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
}

export interface RuleGroup {
  readonly name: string
  readonly rules: ReadonlyArray<Rule>
}

export interface K8sObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly annotations?: Record<string, string> } & Record<string, any>
  readonly [key: string]: any
}

/** Every YAML document of a text, parsed; throws on the first syntax error. */
export const parseDocuments = (text: string): Array<any> =>
  parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join("; ")}`)
    return doc.toJS()
  })

/** The `spec.groups` of the (only) PrometheusRule in a manifest text. */
export const ruleGroupsOf = (manifest: string): Array<RuleGroup> => {
  const rules = parseDocuments(manifest).filter((d) => d?.kind === "PrometheusRule")
  if (rules.length !== 1) throw new Error(`expected one PrometheusRule, found ${rules.length}`)
  return rules[0].spec.groups
}

/** The `groups` of a plain Prometheus rules file (the chart's files/ version). */
export const ruleGroupsOfFile = (path: string): Array<RuleGroup> => parse(readFileSync(path, "utf8")).groups

export const alertRules = (groups: ReadonlyArray<RuleGroup>) =>
  groups.flatMap((g) => g.rules).filter((r): r is Rule & { alert: string } => r.alert !== undefined)

/** Writes `groups` as a Prometheus rules file (what promtool reads) and returns its path. */
export const writeRulesFile = (dir: string, groups: ReadonlyArray<RuleGroup>, name = RULES_FILE_NAME) => {
  const path = join(dir, name)
  writeFileSync(path, stringify({ groups }, { lineWidth: 0 }))
  return path
}

/** The promtool unit test files, parsed, by file name. */
export const ruleTestFiles = (): Array<{ readonly name: string; readonly path: string; readonly content: any }> =>
  readdirSync(RULE_TESTS_DIR)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((name) => {
      const path = join(RULE_TESTS_DIR, name)
      return { name, path, content: parse(readFileSync(path, "utf8")) }
    })

/**
 * A temp dir holding the rules (extracted from a PrometheusRule) under the name the unit tests
 * load, next to copies of every unit test file: run `promtool test rules` on `testFiles`.
 */
export const stageRuleTests = (groups: ReadonlyArray<RuleGroup>) => {
  const dir = mkdtempSync(join(tmpdir(), "sa-rules-"))
  writeRulesFile(dir, groups)
  const testFiles = ruleTestFiles().map(({ name, path }) => {
    const copy = join(dir, name)
    copyFileSync(path, copy)
    return copy
  })
  return { dir, testFiles }
}

export interface ToolRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  readonly output: string
}

const run = (tool: string, args: ReadonlyArray<string>): ToolRun => {
  const result = spawnSync(requireTool(tool), args, { encoding: "utf8", maxBuffer: 32 * 1024 * 1024 })
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    output: `${result.stdout}${result.stderr}`
  }
}

export const helm = (args: ReadonlyArray<string>) => run("helm", args)
export const promtool = (args: ReadonlyArray<string>) => run("promtool", args)

export interface ChartRender {
  /** Values files (absolute paths). */
  readonly values?: ReadonlyArray<string>
  /** `--set` pairs. */
  readonly set?: Readonly<Record<string, string | number | boolean>>
  readonly release?: string
  readonly namespace?: string
}

const valueArgs = (options: ChartRender) => [
  ...(options.values ?? []).flatMap((v) => ["--values", v]),
  ...Object.entries(options.set ?? {}).flatMap(([k, v]) => ["--set", `${k}=${v}`])
]

export const lintChart = (options: ChartRender = {}) =>
  helm(["lint", CHART_DIR, "--strict", "--kube-version", KUBE_VERSION, ...valueArgs(options)])

/** `helm template` with the real Helm: the run, and its manifests parsed when it succeeded. */
export const renderChart = (options: ChartRender = {}): ToolRun & { readonly objects: Array<K8sObject> } => {
  const result = helm([
    "template",
    options.release ?? "sa",
    CHART_DIR,
    "--namespace",
    options.namespace ?? "agents",
    "--kube-version",
    KUBE_VERSION,
    ...valueArgs(options)
  ])
  const objects = result.status === 0 ? parseDocuments(result.stdout).filter((d) => d !== null && d !== undefined) : []
  return { ...result, objects }
}

/**
 * The chart's NOTES.txt as `helm install` would print it. `helm template` never renders NOTES
 * and `helm install --dry-run` needs a cluster, so a temp copy of the chart renders it as the
 * body of a YAML template instead.
 */
export const renderNotes = (options: ChartRender = {}): string => {
  const dir = join(mkdtempSync(join(tmpdir(), "sa-notes-")), "security-agent")
  cpSync(CHART_DIR, dir, { recursive: true })
  const notes = readFileSync(join(dir, "templates", "NOTES.txt"), "utf8")
  writeFileSync(
    join(dir, "templates", "_notes-under-test.tpl"),
    `{{- define "notes-under-test" -}}\n${notes}{{- end -}}\n`
  )
  writeFileSync(
    join(dir, "templates", "notes-under-test.yaml"),
    'notes: |\n{{ include "notes-under-test" . | indent 2 }}\n'
  )
  const result = helm([
    "template",
    options.release ?? "sa",
    dir,
    "--namespace",
    options.namespace ?? "agents",
    "--kube-version",
    KUBE_VERSION,
    "--show-only",
    "templates/notes-under-test.yaml",
    ...valueArgs(options)
  ])
  if (result.status !== 0) throw new Error(`rendering NOTES.txt failed:\n${result.output}`)
  return parseDocuments(result.stdout).find((d) => d?.notes !== undefined).notes
}

/** Objects of one kind (hook objects such as the `helm test` pod included). */
export const ofKind = (objects: ReadonlyArray<K8sObject>, kind: string) => objects.filter((o) => o.kind === kind)

export const isHook = (o: K8sObject) => o.metadata.annotations?.["helm.sh/hook"] !== undefined

const NOT_METRICS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "offset",
  "bool",
  "inf",
  "nan"
])

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers,
 * ranges, grouping label lists, function calls, keywords and numbers are taken out.
 */
export const metricNamesIn = (expr: string): Array<string> => {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
  const names = new Set<string>()
  for (const match of stripped.matchAll(/(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:])(?!\s*\()/g)) {
    const name = match[1]!
    if (!NOT_METRICS.has(name.toLowerCase())) names.add(name)
  }
  return [...names].sort()
}

/**
 * The exposition family a selected name belongs to (`x_bucket`, `x_sum`, `x_count` of the
 * histogram `x`), or undefined when the service exports no such series.
 */
export const familyOf = (name: string, families: ReadonlyMap<string, string>): string | undefined => {
  if (families.has(name)) return name
  const base = name.replace(/_(bucket|sum|count)$/, "")
  return base !== name && (families.get(base) === "histogram" || families.get(base) === "summary") ? base : undefined
}
