// Prometheus target relabelling (keep, drop, replace), enough to check which pods the
// collector's scrape config picks and at which address and path it scrapes them.

export interface RelabelConfig {
  readonly source_labels?: ReadonlyArray<string>
  readonly separator?: string
  readonly regex?: string
  readonly replacement?: string
  readonly target_label?: string
  readonly action?: "replace" | "keep" | "drop"
}

/** Go's regexp.Expand for `$1` / `${1}` references. */
const expand = (template: string, groups: ReadonlyArray<string | undefined>) =>
  template.replace(/\$\{(\d+)\}|\$(\d+)/g, (_, braced, bare) => groups[Number(braced ?? bare)] ?? "")

/** The target's labels after relabelling, or undefined when a keep/drop rule discards it. */
export const relabel = (
  labels: Readonly<Record<string, string>>,
  configs: ReadonlyArray<RelabelConfig>
): Record<string, string> | undefined => {
  const result: Record<string, string> = { ...labels }
  for (const config of configs) {
    const value = (config.source_labels ?? []).map((l) => result[l] ?? "").join(config.separator ?? ";")
    const match = new RegExp(`^(?:${config.regex ?? "(.*)"})$`).exec(value)
    const action = config.action ?? "replace"
    if (action === "keep" && match === null) return undefined
    if (action === "drop" && match !== null) return undefined
    if (action === "replace" && match !== null && config.target_label !== undefined) {
      const replaced = expand(config.replacement ?? "$1", [...match])
      if (replaced === "") delete result[config.target_label]
      else result[config.target_label] = replaced
    }
  }
  return result
}

/** The discovery labels Prometheus' kubernetes_sd role=pod gives a pod's declared port. */
export const podTargetLabels = (pod: {
  readonly namespace: string
  readonly name: string
  readonly ip: string
  readonly port: number
  readonly phase?: string
  readonly annotations?: Readonly<Record<string, string>>
  readonly labels?: Readonly<Record<string, string>>
}): Record<string, string> => {
  const sanitize = (key: string) => key.replace(/[^a-zA-Z0-9_]/g, "_")
  const labels: Record<string, string> = {
    __address__: `${pod.ip}:${pod.port}`,
    __metrics_path__: "/metrics",
    __meta_kubernetes_namespace: pod.namespace,
    __meta_kubernetes_pod_name: pod.name,
    __meta_kubernetes_pod_ip: pod.ip,
    __meta_kubernetes_pod_phase: pod.phase ?? "Running"
  }
  for (const [k, v] of Object.entries(pod.annotations ?? {}))
    labels[`__meta_kubernetes_pod_annotation_${sanitize(k)}`] = v
  for (const [k, v] of Object.entries(pod.labels ?? {})) labels[`__meta_kubernetes_pod_label_${sanitize(k)}`] = v
  return labels
}

/** A collector config's text with `${env:NAME}` / `${env:NAME:-default}` expanded and `$$` unescaped. */
export const expandCollectorConfig = (text: string, env: Readonly<Record<string, string>>) =>
  text
    .replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name, fallback) => env[name] ?? fallback ?? "")
    .replace(/\$\$/g, "$")
