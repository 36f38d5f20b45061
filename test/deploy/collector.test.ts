import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { parseDocuments } from "../support/rules.js"
import { repoPath } from "../support/tools.js"
import { expandCollectorConfig, podTargetLabels, type RelabelConfig, relabel } from "./Relabel.js"

const CONFIG = repoPath("deploy", "k8s", "observability", "otel-collector.yaml")
const MANIFESTS = repoPath("deploy", "k8s", "observability", "otel-collector-k8s.yaml")
const text = readFileSync(CONFIG, "utf8")
const config = parse(text)
const expanded = parse(expandCollectorConfig(text, { SCRAPE_NAMESPACE: "agents" }))
const scrape = expanded.receivers.prometheus.config.scrape_configs as Array<any>
const relabelConfigs = scrape[0].relabel_configs as Array<RelabelConfig>

const agentPod = {
  namespace: "agents",
  name: "sa-security-agent-7d9f-abcde",
  ip: "10.244.0.12",
  port: 8081,
  annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "8081", "prometheus.io/path": "/metrics" },
  labels: { "app.kubernetes.io/instance": "sa" }
}

describe("OpenTelemetry Collector config", () => {
  it("receives OTLP over gRPC and HTTP", () => {
    expect(config.receivers.otlp.protocols.grpc.endpoint).toMatch(/:4317$/)
    expect(config.receivers.otlp.protocols.http.endpoint).toMatch(/:4318$/)
  })

  it("discovers pods of one namespace (kubernetes_sd role pod), with no hard-coded target", () => {
    expect(scrape.length).toBeGreaterThan(0)
    for (const job of scrape) {
      expect(job.static_configs).toBeUndefined()
      expect(job.kubernetes_sd_configs).toEqual([{ role: "pod", namespaces: { names: ["agents"] } }])
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the collector's environment syntax
    expect(text).toContain("${env:SCRAPE_NAMESPACE}")
  })

  it("escapes every `$` that is not an environment reference (the collector expands `$`)", () => {
    const uncommented = text.replace(/^\s*#.*$/gm, "")
    expect(uncommented).toContain("$$1")
    const unescaped = uncommented.replace(/\$\{env:[^}]+\}/g, "").replace(/\$\$/g, "")
    expect(unescaped).not.toContain("$")
  })

  it("scrapes an annotated pod at its annotated port and path, with namespace and pod labels", () => {
    const target = relabel(
      podTargetLabels({
        ...agentPod,
        port: 9999,
        annotations: { ...agentPod.annotations, "prometheus.io/path": "/custom" }
      }),
      relabelConfigs
    )
    expect(target).toMatchObject({
      __address__: "10.244.0.12:8081",
      __metrics_path__: "/custom",
      namespace: "agents",
      pod: agentPod.name,
      release: "sa"
    })
  })

  it("skips pods without the scrape annotation, and pods that are not running", () => {
    expect(relabel(podTargetLabels({ ...agentPod, annotations: {} }), relabelConfigs)).toBeUndefined()
    expect(relabel(podTargetLabels({ ...agentPod, phase: "Pending" }), relabelConfigs)).toBeUndefined()
  })

  it("exports to debug (not the removed `logging`), otlphttp for traces and prometheus for metrics", () => {
    const exporters = Object.keys(config.exporters)
    expect(exporters).toContain("debug")
    expect(exporters).not.toContain("logging")
    expect(exporters).toContain("otlphttp")
    expect(exporters.some((e) => e === "prometheus" || e === "prometheusremotewrite")).toBe(true)
    const pipelines = config.service.pipelines
    expect(pipelines.traces.receivers).toEqual(["otlp"])
    expect(pipelines.traces.exporters).toContain("otlphttp")
    expect(pipelines.metrics.receivers).toContain("prometheus")
  })

  it("defines every component a pipeline uses and uses every component it defines", () => {
    const used = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>() }
    for (const pipeline of Object.values(config.service.pipelines) as Array<any>) {
      for (const kind of ["receivers", "processors", "exporters"] as const) {
        for (const name of pipeline[kind] ?? []) used[kind].add(name)
      }
    }
    for (const kind of ["receivers", "processors", "exporters"] as const) {
      expect([...used[kind]].sort(), kind).toEqual(Object.keys(config[kind]).sort())
    }
    for (const extension of config.service.extensions) expect(Object.keys(config.extensions)).toContain(extension)
  })

  it("runs in Kubernetes with pod discovery limited to its namespace and the config from a ConfigMap", () => {
    const objects = parseDocuments(readFileSync(MANIFESTS, "utf8"))
    const role = objects.find((o) => o.kind === "Role")
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }])
    expect(objects.some((o) => o.kind === "ClusterRole")).toBe(false)
    const deployment = objects.find((o) => o.kind === "Deployment")
    const container = deployment.spec.template.spec.containers[0]
    expect(container.image).toMatch(/^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/)
    expect(container.env).toContainEqual({
      name: "SCRAPE_NAMESPACE",
      valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } }
    })
    expect(container.args).toEqual(["--config=/etc/otel-collector/otel-collector.yaml"])
    expect(deployment.spec.template.spec.volumes[0].configMap.name).toBe("otel-collector-config")
    const service = objects.find((o) => o.kind === "Service")
    expect(service.metadata.name).toBe("otel-collector")
    expect(service.spec.ports.map((p: any) => p.port)).toEqual(expect.arrayContaining([4317, 4318]))
  })
})
