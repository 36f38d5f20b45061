// The Grafana dashboard in tests: its panels and their PromQL, with Grafana's interval
// variables replaced so Prometheus tools can parse the queries.
import { readFileSync } from "node:fs"
import { repoPath } from "../support/tools.js"

/** The one source: the chart's file (the Grafana sidecar ConfigMap); deploy/grafana/ links to it. */
export const DASHBOARD = repoPath("charts", "security-agent", "files", "security-agent-dashboard.json")

export interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number }
  readonly datasource?: { readonly type: string; readonly uid: string }
  readonly targets?: ReadonlyArray<{
    readonly refId: string
    readonly expr: string
    readonly datasource?: { readonly type: string; readonly uid: string }
  }>
  readonly panels?: ReadonlyArray<Panel>
}

export const loadDashboard = (text = readFileSync(DASHBOARD, "utf8")) => JSON.parse(text)

/** Every panel, rows' nested panels included. */
export const panelsOf = (dashboard: { panels: ReadonlyArray<Panel> }): Array<Panel> =>
  dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])

export const queriesOf = (dashboard: { panels: ReadonlyArray<Panel> }) =>
  panelsOf(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })))

/** Grafana's `$__rate_interval`, `$__interval`, `$__range` (and `${...}` forms) as a plain 5m. */
export const withoutGrafanaVariables = (expr: string) =>
  expr.replace(/\$\{?__(rate_interval|interval|range)(_ms|_s)?\}?/g, "5m")
