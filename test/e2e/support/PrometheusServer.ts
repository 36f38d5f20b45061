// A real Prometheus server for the end-to-end suite: it scrapes the service every second and
// evaluates the repository's alert rules (taken from the PrometheusRule manifest, with every
// `for:` cut to 1s and a 1s evaluation interval so alerts move within seconds).
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "yaml"
import { freePort, type Started, startProcess } from "../../support/processes.js"
import { PROMETHEUS_RULE, type RuleGroup, ruleGroupsOf, writeRulesFile } from "../../support/rules.js"
import { requireTool } from "../../support/tools.js"

export interface Sample {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface ActiveAlert {
  readonly labels: Readonly<Record<string, string>>
  readonly state: "pending" | "firing" | "inactive"
  readonly value: string
}

export interface ExemplarSeries {
  readonly seriesLabels: Readonly<Record<string, string>>
  readonly exemplars: ReadonlyArray<{ labels: Readonly<Record<string, string>>; value: string; timestamp: number }>
}

export interface PrometheusServer {
  readonly url: string
  /** The `job` label Prometheus gives the service's series. */
  readonly job: string
  readonly rulesPath: string
  /** An instant query (`/api/v1/query`): every sample of the resulting vector. */
  readonly query: (expr: string) => Promise<Array<Sample>>
  /** `/api/v1/query_exemplars` over the last hour: the stored exemplars of each series. */
  readonly exemplars: (expr: string) => Promise<Array<ExemplarSeries>>
  /** `/api/v1/alerts`: alerts that are pending or firing. */
  readonly alerts: () => Promise<Array<ActiveAlert>>
  /** `/api/v1/targets`: the scrape health of the service ("up", "down", "unknown"). */
  readonly targetHealth: () => Promise<string | undefined>
  readonly output: () => string
  readonly stop: () => Promise<void>
}

export const FAST_FOR = "1s"

/** The shipped rule groups with fast timing: same expressions, labels and annotations. */
export const fastRuleGroups = (groups: ReadonlyArray<RuleGroup>): Array<RuleGroup & { readonly interval: string }> =>
  groups.map((group) => ({
    name: group.name,
    interval: "1s",
    rules: group.rules.map((rule) => (rule.alert === undefined ? rule : { ...rule, for: FAST_FOR }))
  }))

const JOB = "security-agent"

export const startPrometheus = async (dir: string, target: string): Promise<PrometheusServer> => {
  const binary = requireTool("prometheus")
  const port = await freePort()
  const groups = fastRuleGroups(ruleGroupsOf(readFileSync(PROMETHEUS_RULE, "utf8")))
  const rulesPath = writeRulesFile(dir, groups)
  const configPath = join(dir, "prometheus.yml")
  writeFileSync(
    configPath,
    stringify({
      global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
      rule_files: [rulesPath],
      scrape_configs: [{ job_name: JOB, metrics_path: "/metrics", static_configs: [{ targets: [target] }] }]
    })
  )
  const started: Started = await startProcess(
    binary,
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Exemplars are kept only with this feature; Prometheus then asks for OpenMetrics first.
      "--enable-feature=exemplar-storage"
    ],
    { ready: /Server is ready to receive web requests/, cwd: dir, timeoutMs: 60_000 }
  )
  const url = `http://127.0.0.1:${port}`

  const api = async (path: string): Promise<any> => {
    const response = await fetch(`${url}${path}`)
    const body: any = await response.json()
    if (response.status !== 200 || body.status !== "success") {
      throw new Error(`GET ${path} answered ${response.status}: ${JSON.stringify(body)}`)
    }
    return body.data
  }

  return {
    url,
    job: JOB,
    rulesPath,
    query: async (expr) => {
      const data = await api(`/api/v1/query?${new URLSearchParams({ query: expr })}`)
      if (data.resultType === "scalar") return [{ labels: {}, value: Number(data.result[1]) }]
      if (data.resultType !== "vector") throw new Error(`${expr} gave a ${data.resultType}, not a vector`)
      return data.result.map((r: any) => ({ labels: r.metric, value: Number(r.value[1]) }))
    },
    exemplars: async (expr) => {
      const end = Date.now() / 1000
      return api(
        `/api/v1/query_exemplars?${new URLSearchParams({ query: expr, start: String(end - 3600), end: String(end) })}`
      )
    },
    alerts: async () => (await api("/api/v1/alerts")).alerts,
    targetHealth: async () =>
      (await api("/api/v1/targets")).activeTargets.find((t: any) => t.labels.job === JOB)?.health,
    output: started.output,
    stop: async () => {
      await started.stop("SIGTERM")
    }
  }
}
