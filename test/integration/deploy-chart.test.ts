import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { loadDashboard } from "../deploy/DashboardQueries.js"
import { SCRAPE_METRICS } from "../deploy/ExportedMetrics.js"
import { expandCollectorConfig, podTargetLabels, relabel } from "../deploy/Relabel.js"
import {
  alertRules,
  isHook,
  type K8sObject,
  lintChart,
  metricNamesIn,
  ofKind,
  PROMETHEUS_RULE,
  promtool,
  renderChart,
  renderNotes,
  ruleGroupsOf,
  writeRulesFile
} from "../support/rules.js"
import { repoPath } from "../support/tools.js"

const SECRET = { "auth.existingSecret": "sa-secrets" }
const KIND_VALUES = repoPath("deploy", "kind", "values-kind.yaml")
const REPLICAS_REDIS_VALUES = repoPath("test", "deploy", "values-replicas-redis.yaml")

/** The variables of .env.example, and which of them its comments call secret. */
const envExample = (() => {
  const names: Array<string> = []
  const secrets = new Set<string>()
  let comment = ""
  for (const line of readFileSync(repoPath(".env.example"), "utf8").split("\n")) {
    if (line.startsWith("#")) comment += line
    const match = line.match(/^([A-Z][A-Z0-9_]*)=/)
    if (match === null) {
      if (!line.startsWith("#")) comment = ""
      continue
    }
    names.push(match[1]!)
    if (/\(secret\b/.test(comment)) secrets.add(match[1]!)
    comment = ""
  }
  return { names, secrets }
})()

const rendered = (options: Parameters<typeof renderChart>[0]) => {
  const result = renderChart(options)
  expect(result.stderr, result.output).not.toMatch(/Error/)
  expect(result.status, result.output).toBe(0)
  return result.objects
}

const one = (objects: ReadonlyArray<K8sObject>, kind: string) => {
  const found = ofKind(objects, kind).filter((o) => !isHook(o))
  expect(
    found.map((o) => o.metadata.name),
    kind
  ).toHaveLength(1)
  return found[0]!
}

const podSpecOf = (objects: ReadonlyArray<K8sObject>) => one(objects, "Deployment").spec.template.spec
const mainContainer = (objects: ReadonlyArray<K8sObject>) => podSpecOf(objects).containers[0]
/** The service's ConfigMap (the dashboard's, when enabled, is another). */
const configData = (objects: ReadonlyArray<K8sObject>): Record<string, string> => {
  const found = ofKind(objects, "ConfigMap").filter((o) => !isHook(o) && !o.metadata.name.endsWith("-dashboard"))
  expect(found, "the service's ConfigMap").toHaveLength(1)
  return found[0]!.data
}
const secretRefs = (objects: ReadonlyArray<K8sObject>) =>
  (mainContainer(objects).env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef !== undefined)
const volumeNamed = (objects: ReadonlyArray<K8sObject>, name: string) =>
  podSpecOf(objects).volumes.find((v: any) => v.name === name)

/** The mount of the main container that holds `path`, and its volume. */
const mountOf = (objects: ReadonlyArray<K8sObject>, path: string) => {
  const mount = mainContainer(objects).volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`))
  expect(mount, `${path} is on a mounted volume`).toBeDefined()
  return { mount, volume: volumeNamed(objects, mount.name) }
}

/** The file a `*_FILE` variable names: on a read-only mount of that Secret, under that key. */
const expectSecretFile = (objects: ReadonlyArray<K8sObject>, variable: string, secretName: string, key: string) => {
  const path = configData(objects)[variable]!
  const { mount, volume } = mountOf(objects, path)
  expect(mount.readOnly, `${variable} mount is read-only`).toBe(true)
  expect(mount.subPath, `${variable}: a directory mount, so Kubernetes can update the file in place`).toBeUndefined()
  expect(volume.secret.secretName).toBe(secretName)
  expect(volume.secret.items).toEqual([{ key, path: path.slice(mount.mountPath.length + 1) }])
  return path
}

/** What every workload of every render must hold: probes, resources, a locked-down context, writable volumes only. */
const expectHardenedWorkloads = (objects: ReadonlyArray<K8sObject>) => {
  const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind))
  expect(workloads.length).toBeGreaterThan(0)
  for (const workload of workloads) {
    const pod = workload.spec.template.spec
    expect(pod.automountServiceAccountToken).toBe(false)
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
      const where = `${workload.metadata.name}/${c.name}`
      expect(c.startupProbe?.httpGet?.path, `${where} startupProbe`).toBe("/healthz")
      expect(c.livenessProbe?.httpGet?.path, `${where} livenessProbe`).toBe("/healthz")
      expect(c.readinessProbe?.httpGet?.path, `${where} readinessProbe`).toBe("/readyz")
      expect(c.resources?.requests?.cpu, `${where} cpu request`).toBeDefined()
      expect(c.resources?.requests?.memory, `${where} memory request`).toBeDefined()
      expect(c.resources?.limits?.memory, `${where} memory limit`).toBeDefined()
      const sc = c.securityContext ?? {}
      expect(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, `${where} runAsNonRoot`).toBe(true)
      expect(sc.runAsUser ?? pod.securityContext?.runAsUser, `${where} runAsUser`).toBeGreaterThan(0)
      expect(sc.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true)
      expect(sc.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false)
      expect(sc.privileged ?? false, `${where} privileged`).toBe(false)
      expect(sc.capabilities?.drop, `${where} drops capabilities`).toContain("ALL")
      expect(sc.capabilities?.add ?? [], `${where} adds no capability`).toEqual([])
      expect((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, `${where} seccomp`).toBe(
        "RuntimeDefault"
      )
      const mounts = new Map<string, string>(c.volumeMounts.map((m: any) => [m.mountPath, m.name]))
      const volume = (name: string | undefined) => pod.volumes.find((v: any) => v.name === name)
      expect(volume(mounts.get("/tmp"))?.emptyDir, `${where} /tmp is an emptyDir`).toBeDefined()
      for (const m of c.volumeMounts) {
        if (volume(m.name)?.secret !== undefined) expect(m.readOnly, `${where} secret ${m.name} read-only`).toBe(true)
      }
      const data = configData(objects)
      for (const path of [
        data.AGENT_TRACE_JSONL_PATH!,
        data.GUARDRAIL_AUDIT_PATH!,
        data.GUARDRAIL_AUDIT_CHANGES_PATH!
      ]) {
        const mount = [...mounts.keys()].find((m) => m !== "/tmp" && path.startsWith(`${m}/`))
        expect(mount, `${path} is on a mounted volume`).toBeDefined()
        const v = volume(mounts.get(mount!))
        expect(v?.emptyDir ?? v?.persistentVolumeClaim, `${path} volume`).toBeDefined()
      }
    }
  }
  for (const pod of ofKind(objects, "Pod").filter(isHook)) {
    for (const c of pod.spec.containers) {
      expect(c.resources?.limits?.memory, `hook ${pod.metadata.name}`).toBeDefined()
      expect(c.securityContext?.allowPrivilegeEscalation, `hook ${pod.metadata.name}`).toBe(false)
    }
  }
  for (const policy of ofKind(objects, "NetworkPolicy")) {
    expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"])
    // A rule without peers allows everything: each one must name its peers.
    for (const rule of policy.spec.ingress) expect(rule.from?.length ?? 0).toBeGreaterThan(0)
    for (const rule of policy.spec.egress) expect(rule.to?.length ?? 0).toBeGreaterThan(0)
  }
}

/** Variables deploy/Dockerfile bakes into the image (BUILD_REVISION): a ConfigMap key would mask them. */
const IMAGE_BAKED: ReadonlyArray<string> = ["BUILD_REVISION"]

/**
 * .env.example is fully covered: non-secrets in the ConfigMap, secrets only as secretKeyRefs or
 * as a file mounted from a Secret (the ConfigMap then names the file in `<NAME>_FILE`).
 */
const expectEnvCoverage = (objects: ReadonlyArray<K8sObject>, secretName: string) => {
  const data = configData(objects)
  const refs = secretRefs(objects)
  const refNames = new Set(refs.map((e: any) => e.name as string))
  for (const name of envExample.names) {
    if (envExample.secrets.has(name)) {
      const file = data[`${name}_FILE`]
      if (file !== undefined && file !== "") {
        const { mount, volume } = mountOf(objects, file)
        expect(mount.readOnly, `secret ${name} file is mounted read-only`).toBe(true)
        expect(volume.secret, `secret ${name} file comes from a Secret`).toBeDefined()
      } else {
        expect(refNames, `secret ${name} comes from the Secret`).toContain(name)
      }
      expect(data, `secret ${name} is not in the ConfigMap`).not.toHaveProperty(name)
    } else if (IMAGE_BAKED.includes(name)) {
      // The image's own value must show through: set only when values `env` names it.
      expect(data, `${name} is left to the image`).not.toHaveProperty(name)
    } else {
      expect(data, `${name} is in the ConfigMap`).toHaveProperty(name)
    }
  }
  // `*_FILE` variables hold paths of mounted Secret files, never secrets.
  for (const [key, value] of Object.entries(data)) {
    if (key.endsWith("_FILE")) expect(value, key).toMatch(/^$|^\/[^\s]+$/)
    // LLM_CONTEXT_TOKENS counts tokens of a prompt: a size, not a credential.
    else expect(key).not.toMatch(/TOKEN(?!S\b)|API_KEY|CODE_KEY|PASSWORD|SECRET|REDIS_URL/)
  }
  for (const ref of refs) expect(ref.valueFrom.secretKeyRef.name).toBe(secretName)
  const plainEnv = (mainContainer(objects).env ?? []).filter((e: any) => e.value !== undefined)
  for (const e of plainEnv) expect(envExample.secrets.has(e.name), `${e.name} as a plain value`).toBe(false)
  expect(mainContainer(objects).envFrom).toEqual([{ configMapRef: { name: one(objects, "ConfigMap").metadata.name } }])
}

const optionalOf = (objects: ReadonlyArray<K8sObject>) =>
  Object.fromEntries(secretRefs(objects).map((e: any) => [e.name, e.valueFrom.secretKeyRef.optional]))

describe("Helm chart charts/security-agent", () => {
  it("keeps the seed's variables in values `env` by name, one source for the ConfigMap, the rules and the dashboard", () => {
    const values = parse(readFileSync(repoPath("charts", "security-agent", "values.yaml"), "utf8"))
    expect(values.env).toMatchObject({
      AGENT_OBSERVABILITY_ENABLED: true,
      AGENT_METRICS_NAMESPACE: "security_agent",
      AGENT_TRACE_JSONL_PATH: ""
    })
    const defaults = configData(rendered({ set: SECRET }))
    expect(defaults.AGENT_OBSERVABILITY_ENABLED).toBe("true")
    expect(defaults.AGENT_METRICS_NAMESPACE).toBe("security_agent")
    expect(defaults.AGENT_TRACE_JSONL_PATH).toBe("/var/lib/security-agent/logs/agent-traces.jsonl")

    // Set by variable name: the ConfigMap, the PrometheusRule and the dashboard all follow.
    const byName = rendered({
      set: {
        ...SECRET,
        "env.AGENT_OBSERVABILITY_ENABLED": false,
        "env.AGENT_METRICS_NAMESPACE": "waf_team",
        "env.AGENT_TRACE_JSONL_PATH": "/var/lib/security-agent/logs/team.jsonl",
        "prometheusRule.enabled": true,
        "grafana.dashboard.enabled": true
      }
    })
    expect(configData(byName)).toMatchObject({
      AGENT_OBSERVABILITY_ENABLED: "false",
      AGENT_METRICS_NAMESPACE: "waf_team",
      AGENT_TRACE_JSONL_PATH: "/var/lib/security-agent/logs/team.jsonl"
    })
    const rules = alertRules(one(byName, "PrometheusRule").spec.groups)
    expect(rules.every((r) => !r.expr.includes("security_agent_"))).toBe(true)
    const dashboard = ofKind(byName, "ConfigMap").find((c) => c.metadata.name.endsWith("-dashboard"))!
    const json = dashboard.data["security-agent.json"] as string
    expect(json).toContain("waf_team_agent_turn_latency_seconds_bucket")
    expect(json).not.toContain("security_agent_")

    // The structured values still work and win over `env` when set on purpose.
    const structured = configData(
      rendered({ set: { ...SECRET, "observability.enabled": false, metricsNamespace: "ops_team" } })
    )
    expect(structured).toMatchObject({ AGENT_OBSERVABILITY_ENABLED: "false", AGENT_METRICS_NAMESPACE: "ops_team" })
  })

  it("renders each variable once when extraEnv repeats one (the trace path set directly, no duplicate key)", () => {
    const result = renderChart({
      set: { ...SECRET, "extraEnv.AGENT_TRACE_JSONL_PATH": "/var/lib/security-agent/logs/direct.jsonl" }
    })
    expect(result.status, result.output).toBe(0)
    const configMapText = result.stdout
      .split("\n---")
      .find((doc) => /\nkind: ConfigMap\n/.test(doc) && /\n {2}name: sa-security-agent\n/.test(doc))!
    expect(configMapText.match(/^ {2}AGENT_TRACE_JSONL_PATH:/gm)).toHaveLength(1)
    expect(configData(result.objects).AGENT_TRACE_JSONL_PATH).toBe("/var/lib/security-agent/logs/direct.jsonl")
    // Every key of the ConfigMap appears once.
    const keys = [...configMapText.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1])
    expect(new Set(keys).size).toBe(keys.length)
  })

  it("renders the cost price table, the JSON log format, the WAF mode poll and the protection-off delay", () => {
    const objects = rendered({
      set: {
        ...SECRET,
        "llm.prices.gpt-4o-mini.input": 0.15,
        "llm.prices.gpt-4o-mini.output": 0.6,
        "llm.prices.gpt-4o.input": 2.5,
        "llm.prices.gpt-4o.output": 10,
        "observability.wafModePollIntervalSeconds": 30,
        "prometheusRule.enabled": true,
        "prometheusRule.wafProtectionOffFor": "45m"
      }
    })
    expect(configData(objects)).toMatchObject({
      LLM_PRICES: "gpt-4o=2.5:10,gpt-4o-mini=0.15:0.6",
      LOG_FORMAT: "json",
      WAF_MODE_POLL_INTERVAL_SECONDS: "30"
    })
    const off = alertRules(one(objects, "PrometheusRule").spec.groups).find(
      (r) => r.alert === "SecurityAgentWafProtectionOff"
    )
    expect(off?.for).toBe("45m")
    expect(configData(rendered({ set: SECRET })).LLM_PRICES).toBe("")
  })

  it("ships the Grafana dashboard as a sidecar ConfigMap only when grafana.dashboard.enabled", () => {
    expect(ofKind(rendered({ set: SECRET }), "ConfigMap").map((c) => c.metadata.name)).not.toContain(
      "sa-security-agent-dashboard"
    )
    const objects = rendered({
      set: { ...SECRET, "grafana.dashboard.enabled": true, "grafana.dashboard.folder": "Security" }
    })
    const dashboard = ofKind(objects, "ConfigMap").find((c) => c.metadata.name === "sa-security-agent-dashboard")!
    expect(dashboard.metadata.labels.grafana_dashboard).toBe("1")
    expect(dashboard.metadata.annotations?.grafana_folder).toBe("Security")
    const json = JSON.parse(dashboard.data["security-agent.json"])
    expect(json.uid).toBe(loadDashboard().uid)
    // Grafana's own {{ }} legends reach Grafana untouched by Helm.
    expect(dashboard.data["security-agent.json"]).toContain("{{gen_ai_request_model}}")
  })

  it("is chart-testing ready: Chart.yaml sources and maintainers, ci/*-values.yaml that lint and render alone, a README generated from the values", () => {
    const chartYaml = parse(readFileSync(repoPath("charts", "security-agent", "Chart.yaml"), "utf8"))
    expect(chartYaml.sources.length).toBeGreaterThan(0)
    expect(chartYaml.maintainers[0].name).toBeTruthy()
    const ciDir = repoPath("charts", "security-agent", "ci")
    const ciValues = readdirSync(ciDir).filter((f) => f.endsWith("-values.yaml"))
    expect(ciValues.length).toBeGreaterThanOrEqual(2)
    for (const file of ciValues) {
      const options = { values: [join(ciDir, file)] }
      const lint = lintChart(options)
      expect(lint.status, `${file}: ${lint.output}`).toBe(0)
      expect(rendered(options).length, file).toBeGreaterThan(0)
    }
    const out = join(mkdtempSync(join(tmpdir(), "chart-readme-")), "README.md")
    execFileSync(process.execPath, [repoPath("deploy", "helm", "render-chart-readme.mjs")], {
      env: { ...process.env, CHART_README_OUT: out }
    })
    const readme = readFileSync(repoPath("charts", "security-agent", "README.md"), "utf8")
    expect(readme, "run node deploy/helm/render-chart-readme.mjs after editing values.yaml").toBe(
      readFileSync(out, "utf8")
    )
    for (const key of [
      "env.AGENT_TRACE_JSONL_PATH",
      "grafana.dashboard.enabled",
      "llm.prices",
      "prometheusRule.wafProtectionOffFor"
    ]) {
      expect(readme).toContain(`| \`${key}\``)
    }
  })

  it("passes `helm lint --strict` with the default values (+ a Secret), the kind values and replicas+Redis", () => {
    for (const options of [{ set: SECRET }, { values: [KIND_VALUES] }, { values: [REPLICAS_REDIS_VALUES] }]) {
      const result = lintChart(options)
      expect(result.status, result.output).toBe(0)
      expect(result.output).toContain("0 chart(s) failed")
    }
  })

  it("renders the defaults (+ auth.existingSecret) into hardened manifests covering every variable of .env.example", () => {
    const objects = rendered({ set: SECRET })
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Pod",
        "Secret",
        "Service",
        "ServiceAccount"
      ].sort()
    )
    expectHardenedWorkloads(objects)
    expectEnvCoverage(objects, "sa-secrets")
    const data = configData(objects)
    expect(data.ASSISTANT_API_HOST).toBe("0.0.0.0")
    expect(data.ASSISTANT_API_ALLOW_UNAUTHENTICATED).toBe("false")
    expect(data.AGENT_METRICS_NAMESPACE).toBe("security_agent")
    expect(data.SESSION_STORE).toBe("memory")
    expect(Number(data.ASSISTANT_API_PORT)).toBe(mainContainer(objects).ports[0].containerPort)
    expect(optionalOf(objects)).toEqual({
      ASSISTANT_API_TOKEN: false,
      OPENAI_API_KEY: true,
      GOOGLE_API_KEY: true,
      ANTHROPIC_API_KEY: true,
      SAFELINE_API_TOKEN: true,
      EMBEDDINGS_API_KEY: true,
      REDIS_URL: true
    })
    const deployment = one(objects, "Deployment")
    expect(deployment.spec.replicas).toBe(1)
    expect(podSpecOf(objects).terminationGracePeriodSeconds).toBeGreaterThan(
      Number(data.ASSISTANT_API_SHUTDOWN_GRACE_SECONDS)
    )
    expect(one(objects, "Service").spec.ports[0].targetPort).toBe("http")
  })

  it("lets the OpenTelemetry Collector's pod discovery find the pod at its port and path", () => {
    const objects = rendered({ set: SECRET, namespace: "agents" })
    const template = one(objects, "Deployment").spec.template
    const collector = parse(
      expandCollectorConfig(readFileSync(repoPath("deploy", "k8s", "observability", "otel-collector.yaml"), "utf8"), {
        SCRAPE_NAMESPACE: "agents"
      })
    )
    const target = relabel(
      podTargetLabels({
        namespace: "agents",
        name: "sa-pod",
        ip: "10.0.0.7",
        port: template.spec.containers[0].ports[0].containerPort,
        annotations: template.metadata.annotations,
        labels: template.metadata.labels
      }),
      collector.receivers.prometheus.config.scrape_configs[0].relabel_configs
    )
    expect(target).toMatchObject({ __address__: "10.0.0.7:8081", __metrics_path__: "/metrics", namespace: "agents" })
  })

  it("admits the API only from its namespace and Prometheus', and allows no egress but DNS when offline with the simulator", () => {
    const policy = one(rendered({ set: SECRET }), "NetworkPolicy")
    expect(policy.spec.ingress).toHaveLength(1)
    expect(policy.spec.ingress[0].from).toEqual([
      { podSelector: {} },
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }
    ])
    expect(policy.spec.egress).toHaveLength(1)
    expect(policy.spec.egress[0].ports).toEqual([
      { port: 53, protocol: "UDP" },
      { port: 53, protocol: "TCP" }
    ])
    const withEverything = one(
      rendered({
        values: [REPLICAS_REDIS_VALUES],
        set: { "safeline.url": "https://safeline.waf:9443", "llm.provider": "openai" }
      }),
      "NetworkPolicy"
    )
    const egressPorts = withEverything.spec.egress.flatMap((r: any) => r.ports.map((p: any) => p.port))
    expect(egressPorts).toEqual(expect.arrayContaining([53, 9443, 443, 6379, 4318]))
    expect(withEverything.spec.ingress[0].from).toContainEqual({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } }
    })
  })

  it("rolls the pods when the configuration changes (checksum annotation)", () => {
    const checksum = (set: Record<string, string>) =>
      one(rendered({ set: { ...SECRET, ...set } }), "Deployment").spec.template.metadata.annotations["checksum/config"]
    expect(checksum({})).toMatch(/^[0-9a-f]{64}$/)
    expect(checksum({})).toBe(checksum({}))
    expect(checksum({ "observability.logLevel": "debug" })).not.toBe(checksum({}))
  })

  it("renders the kind values: the local image, never pulled, spans to the collector", () => {
    const objects = rendered({ values: [KIND_VALUES] })
    expectHardenedWorkloads(objects)
    expectEnvCoverage(objects, "security-agent-secrets")
    const container = mainContainer(objects)
    expect(container.image).toBe("security-agent:dev")
    expect(container.imagePullPolicy).toBe("Never")
    expect(configData(objects).OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://otel-collector:4318")
  })

  it("renders 3 replicas sharing Redis sessions: REDIS_URL required, PDB, ServiceMonitor, PrometheusRule, Ingress", () => {
    const objects = rendered({ values: [REPLICAS_REDIS_VALUES] })
    expectHardenedWorkloads(objects)
    expectEnvCoverage(objects, "sa-secrets")
    expect(one(objects, "Deployment").spec.replicas).toBe(3)
    expect(configData(objects).SESSION_STORE).toBe("redis")
    expect(optionalOf(objects).REDIS_URL).toBe(false)
    expect(one(objects, "PodDisruptionBudget").spec.maxUnavailable).toBe(1)
    expect(one(objects, "ServiceMonitor").spec.endpoints).toEqual([
      { port: "http", path: "/metrics", interval: "30s", scrapeTimeout: "10s" }
    ])
    expect(one(objects, "ServiceMonitor").metadata.labels.release).toBe("kube-prometheus-stack")
    expect(one(objects, "Ingress").spec.rules[0].host).toBe("security-agent.example.internal")
    const rule = one(objects, "PrometheusRule")
    expect(rule.metadata.labels.release).toBe("kube-prometheus-stack")
    // With the default namespace and runbook base URL the chart's rules are the deploy/ copy's.
    expect(rule.spec.groups).toEqual(ruleGroupsOf(readFileSync(PROMETHEUS_RULE, "utf8")))
  })

  it("renders an HPA (and no fixed replica count) when autoscaling with Redis sessions", () => {
    const objects = rendered({
      values: [REPLICAS_REDIS_VALUES],
      set: { "autoscaling.enabled": true, "autoscaling.minReplicas": 2, "autoscaling.maxReplicas": 6 }
    })
    expect(one(objects, "HorizontalPodAutoscaler").spec).toMatchObject({ minReplicas: 2, maxReplicas: 6 })
    expect(one(objects, "Deployment").spec.replicas).toBeUndefined()
  })

  it("follows metricsNamespace: AGENT_METRICS_NAMESPACE and every PrometheusRule expression use waf_team_", () => {
    const objects = rendered({ set: { ...SECRET, metricsNamespace: "waf_team", "prometheusRule.enabled": true } })
    expect(configData(objects).AGENT_METRICS_NAMESPACE).toBe("waf_team")
    const groups = one(objects, "PrometheusRule").spec.groups
    const rules = alertRules(groups)
    expect(rules.length).toBeGreaterThan(0)
    for (const rule of rules) {
      expect(rule.expr, rule.alert).not.toContain("security_agent_")
      for (const name of metricNamesIn(rule.expr)) {
        expect(
          name.startsWith("waf_team_") || name.startsWith("gen_ai_client_") || SCRAPE_METRICS.includes(name),
          `${rule.alert}: ${name}`
        ).toBe(true)
      }
      // Prometheus templates reach the cluster untouched by Helm: annotations as in the source.
      const source = alertRules(ruleGroupsOf(readFileSync(PROMETHEUS_RULE, "utf8"))).find((r) => r.alert === rule.alert)
      expect(rule.annotations?.summary).toBe(source?.annotations?.summary?.replaceAll("security_agent_", "waf_team_"))
      expect(rule.annotations?.description).toBe(
        source?.annotations?.description?.replaceAll("security_agent_", "waf_team_")
      )
    }
    expect(rules.some((r) => r.expr.includes("waf_team_agent_tool_calls_total"))).toBe(true)
    const dir = mkdtempSync(join(tmpdir(), "sa-waf-team-"))
    const check = promtool(["check", "rules", writeRulesFile(dir, groups)])
    expect(check.status, check.output).toBe(0)
  })

  it("uses prometheusRule.runbookBaseUrl for every runbook_url", () => {
    const objects = rendered({
      set: {
        ...SECRET,
        "prometheusRule.enabled": true,
        "prometheusRule.runbookBaseUrl": "https://git.example/sa/-/blob/v1"
      }
    })
    for (const rule of alertRules(one(objects, "PrometheusRule").spec.groups)) {
      expect(rule.annotations?.runbook_url).toBe(
        `https://git.example/sa/-/blob/v1/docs/agent-observability-runbook.md#alert-${rule.alert.toLowerCase()}`
      )
    }
  })

  it("serves without a token only when auth.allowUnauthenticated=true is set explicitly", () => {
    const objects = rendered({ set: { "auth.allowUnauthenticated": true } })
    expect(configData(objects).ASSISTANT_API_ALLOW_UNAUTHENTICATED).toBe("true")
    expect(secretRefs(objects)).toEqual([])
  })

  it("makes the chosen provider's API key and SafeLine's token required", () => {
    const objects = rendered({
      set: { ...SECRET, "llm.provider": "anthropic", "safeline.url": "https://safeline.waf:9443" }
    })
    expect(optionalOf(objects)).toMatchObject({
      ANTHROPIC_API_KEY: false,
      SAFELINE_API_TOKEN: false,
      OPENAI_API_KEY: true
    })
  })

  it("mounts SafeLine's CA bundle from a ConfigMap and keeps the logs on an existing claim when asked", () => {
    const objects = rendered({
      set: {
        ...SECRET,
        "safeline.url": "https://safeline.waf:9443",
        "safeline.caBundle.configMap": "safeline-ca",
        "dataVolume.existingClaim": "sa-logs",
        "image.digest": `sha256:${"a".repeat(64)}`
      }
    })
    expectHardenedWorkloads(objects)
    const bundle = configData(objects).SAFELINE_CA_BUNDLE!
    const container = mainContainer(objects)
    const mount = container.volumeMounts.find((m: any) => bundle.startsWith(`${m.mountPath}/`))
    expect(mount?.readOnly).toBe(true)
    expect(volumeNamed(objects, mount.name).configMap.name).toBe("safeline-ca")
    expect(mountOf(objects, configData(objects).AGENT_TRACE_JSONL_PATH!).volume.persistentVolumeClaim.claimName).toBe(
      "sa-logs"
    )
    expect(container.image).toBe(`security-agent@sha256:${"a".repeat(64)}`)
  })

  it("prints in NOTES.txt how to reach the release, read its token, check it and chat with it", () => {
    const notes = renderNotes({ set: { ...SECRET, metricsNamespace: "waf_team" }, release: "demo", namespace: "waf" })
    expect(notes).not.toContain("<no value>")
    expect(notes).toContain("kubectl -n waf port-forward svc/demo-security-agent 8081:8081")
    expect(notes).toContain("kubectl -n waf get secret sa-secrets -o jsonpath='{.data.ASSISTANT_API_TOKEN}'")
    expect(notes).toContain('curl -s localhost:8081/v1/chat -H "Authorization: Bearer $TOKEN"')
    expect(notes).toContain("curl -s localhost:8081/readyz")
    expect(notes).toContain("grep waf_team_chat_requests_total")
    expect(notes).toContain("embedded SafeLine simulator")
    const open = renderNotes({ set: { "auth.allowUnauthenticated": true } })
    expect(open).toContain("WARNING: auth.allowUnauthenticated=true")
    expect(open).not.toContain("Authorization: Bearer")
  })

  it("mounts a tokens file from a Secret as a read-only directory and points ASSISTANT_API_TOKENS_FILE at it", () => {
    const objects = rendered({ set: { "auth.tokensFile.existingSecret": "sa-tokens" } })
    expectHardenedWorkloads(objects)
    const path = expectSecretFile(objects, "ASSISTANT_API_TOKENS_FILE", "sa-tokens", "tokens")
    expect(path).toBe("/etc/security-agent/tokens/tokens")
    // A tokens file alone satisfies the refusal to serve 0.0.0.0 without a token.
    expect(configData(objects).ASSISTANT_API_ALLOW_UNAUTHENTICATED).toBe("false")
    expect(secretRefs(objects)).toEqual([])
    // Next to ASSISTANT_API_TOKEN, which then becomes optional.
    const both = rendered({
      set: { ...SECRET, "auth.tokensFile.existingSecret": "sa-tokens", "auth.tokensFile.key": "api-tokens.txt" }
    })
    expectEnvCoverage(both, "sa-secrets")
    expect(expectSecretFile(both, "ASSISTANT_API_TOKENS_FILE", "sa-tokens", "api-tokens.txt")).toBe(
      "/etc/security-agent/tokens/api-tokens.txt"
    )
    expect(optionalOf(both).ASSISTANT_API_TOKEN).toBe(true)
    // Without one the variable is empty (unset for the service) and nothing is mounted.
    const none = rendered({ set: SECRET })
    expect(configData(none).ASSISTANT_API_TOKENS_FILE).toBe("")
    expect(volumeNamed(none, "api-tokens")).toBeUndefined()
    expect(optionalOf(none).ASSISTANT_API_TOKEN).toBe(false)
  })

  it("generates the confirmation-code key into its own Secret, mounted read-only, or uses codeKey.existingSecret", () => {
    const objects = rendered({ set: SECRET, release: "demo" })
    const secret = ofKind(objects, "Secret").find((o) => o.metadata.name === "demo-security-agent-code-key")
    expect(secret, "generated code key Secret").toBeDefined()
    const key = Buffer.from(secret!.data["code-key"], "base64").toString("utf8")
    expect(key).toMatch(/^[A-Za-z0-9]{64}$/)
    expect(expectSecretFile(objects, "ASSISTANT_CODE_KEY_FILE", "demo-security-agent-code-key", "code-key")).toBe(
      "/etc/security-agent/code-key/code-key"
    )
    // Kept across upgrades through `lookup`: the template must read the live Secret first.
    expect(readFileSync(repoPath("charts", "security-agent", "templates", "secret-code-key.yaml"), "utf8")).toMatch(
      /lookup "v1" "Secret" \.Release\.Namespace \$name/
    )
    const existing = rendered({ set: { ...SECRET, "codeKey.existingSecret": "sa-code-key", "codeKey.key": "hmac" } })
    expect(ofKind(existing, "Secret")).toEqual([])
    expectSecretFile(existing, "ASSISTANT_CODE_KEY_FILE", "sa-code-key", "hmac")
    expectEnvCoverage(existing, "sa-secrets")
  })

  it("keeps the audit on a ReadWriteOnce PersistentVolumeClaim by default, kept on uninstall, replaced with Recreate", () => {
    const objects = rendered({ set: SECRET })
    const pvc = one(objects, "PersistentVolumeClaim")
    expect(pvc.metadata.name).toBe("sa-security-agent-audit")
    expect(pvc.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep")
    expect(pvc.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } })
    const data = configData(objects)
    for (const path of [data.GUARDRAIL_AUDIT_PATH!, data.GUARDRAIL_AUDIT_CHANGES_PATH!]) {
      const { mount, volume } = mountOf(objects, path)
      expect(volume.persistentVolumeClaim.claimName, path).toBe("sa-security-agent-audit")
      expect(mount.subPathExpr, "one pod: no per-pod subdirectory").toBeUndefined()
    }
    expect(data.GUARDRAIL_AUDIT_CHANGES_PATH).toMatch(/\/waf-changes\.jsonl$/)
    // The trace log stays on the (ephemeral) data volume.
    expect(mountOf(objects, data.AGENT_TRACE_JSONL_PATH!).volume.emptyDir).toBeDefined()
    expect(one(objects, "Deployment").spec.strategy).toEqual({ type: "Recreate" })

    const tuned = rendered({
      set: {
        ...SECRET,
        "auditVolume.persistence.size": "20Gi",
        "auditVolume.persistence.storageClass": "fast-ssd"
      }
    })
    expect(one(tuned, "PersistentVolumeClaim").spec).toMatchObject({
      storageClassName: "fast-ssd",
      resources: { requests: { storage: "20Gi" } }
    })
    const noClass = rendered({ set: { ...SECRET, "auditVolume.persistence.storageClass": "-" } })
    expect(one(noClass, "PersistentVolumeClaim").spec.storageClassName).toBe("")

    const claimed = rendered({ set: { ...SECRET, "auditVolume.persistence.existingClaim": "sa-audit-archive" } })
    expect(ofKind(claimed, "PersistentVolumeClaim")).toEqual([])
    expect(volumeNamed(claimed, "audit").persistentVolumeClaim.claimName).toBe("sa-audit-archive")

    const ephemeral = rendered({ set: { ...SECRET, "auditVolume.persistence.enabled": false } })
    expectHardenedWorkloads(ephemeral)
    expect(ofKind(ephemeral, "PersistentVolumeClaim")).toEqual([])
    expect(volumeNamed(ephemeral, "audit").emptyDir).toEqual({ sizeLimit: "1Gi" })
    expect(one(ephemeral, "Deployment").spec.strategy.type).toBe("RollingUpdate")
    // Without persistence the audit must leave the pod: a shipper container can read the volume.
    const shipped = rendered({
      set: {
        ...SECRET,
        "auditVolume.persistence.enabled": false,
        "extraContainers[0].name": "audit-shipper",
        "extraContainers[0].image": "fluent/fluent-bit:3.1",
        "extraContainers[0].volumeMounts[0].name": "audit",
        "extraContainers[0].volumeMounts[0].mountPath": "/audit",
        "extraContainers[0].volumeMounts[0].readOnly": true
      }
    })
    expect(podSpecOf(shipped).containers.map((c: any) => c.name)).toEqual(["security-agent", "audit-shipper"])
    expect(podSpecOf(shipped).containers[1].volumeMounts).toEqual([
      { name: "audit", mountPath: "/audit", readOnly: true }
    ])
  })

  it("gives each replica its own audit subdirectory on a shared (ReadWriteMany) volume, and rolls pods one by one", () => {
    const objects = rendered({ values: [REPLICAS_REDIS_VALUES] })
    expect(one(objects, "PersistentVolumeClaim").spec).toMatchObject({
      accessModes: ["ReadWriteMany"],
      storageClassName: "nfs-client"
    })
    const { mount } = mountOf(objects, configData(objects).GUARDRAIL_AUDIT_CHANGES_PATH!)
    expect(mount.subPathExpr).toBe("$(POD_NAME)")
    expect(mainContainer(objects).env).toContainEqual({
      name: "POD_NAME",
      valueFrom: { fieldRef: { fieldPath: "metadata.name" } }
    })
    expect(one(objects, "Deployment").spec.strategy.type).toBe("RollingUpdate")
    // Opting in to ReadWriteOnce with replicas (all on one node) also splits the files per pod.
    const optedIn = rendered({
      values: [REPLICAS_REDIS_VALUES],
      set: {
        "auditVolume.persistence.accessModes[0]": "ReadWriteOnce",
        "auditVolume.persistence.allowReadWriteOnceWithReplicas": true
      }
    })
    expect(mountOf(optedIn, configData(optedIn).GUARDRAIL_AUDIT_PATH!).mount.subPathExpr).toBe("$(POD_NAME)")
    expect(one(optedIn, "Deployment").spec.strategy.type).toBe("Recreate")
  })

  it("puts the access, rate-limit and code-throttling settings into the ConfigMap", () => {
    const data = configData(
      rendered({
        set: {
          ...SECRET,
          "api.allowedHosts": "{sa.example.internal,sa.local}",
          "api.allowedOrigins": "{https://console.example.internal}",
          "api.trustedProxies": "{10.42.0.0/16,fd00::/8}",
          "api.rateLimit": 30,
          "api.bodyTimeoutSeconds": 5,
          "guardrails.confirmationMaxFailuresPerPrincipal": 4,
          "guardrails.confirmationFailureWindowSeconds": 600
        }
      })
    )
    expect(data).toMatchObject({
      ASSISTANT_API_ALLOWED_HOSTS: "sa.example.internal,sa.local",
      ASSISTANT_API_ALLOWED_ORIGINS: "https://console.example.internal",
      ASSISTANT_API_TRUSTED_PROXIES: "10.42.0.0/16,fd00::/8",
      ASSISTANT_API_RATE_LIMIT: "30",
      ASSISTANT_API_BODY_TIMEOUT_SECONDS: "5",
      CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL: "4",
      CONFIRMATION_FAILURE_WINDOW_SECONDS: "600"
    })
    expect(configData(rendered({ set: SECRET }))).toMatchObject({
      ASSISTANT_API_ALLOWED_HOSTS: "",
      ASSISTANT_API_TRUSTED_PROXIES: "",
      ASSISTANT_API_RATE_LIMIT: "120",
      ASSISTANT_API_BODY_TIMEOUT_SECONDS: "10",
      CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL: "10",
      CONFIRMATION_FAILURE_WINDOW_SECONDS: "900"
    })
  })

  it("tells in NOTES.txt where tokens come from with a tokens file, and where the audit lives", () => {
    const notes = renderNotes({ set: { "auth.tokensFile.existingSecret": "sa-tokens" } })
    expect(notes).not.toContain("<no value>")
    expect(notes).toContain("security-agent token <name>")
    expect(notes).toContain("Secret sa-tokens")
    expect(notes).toContain("PersistentVolumeClaim sa-security-agent-audit (ReadWriteOnce; kept on helm uninstall)")
    expect(notes).toContain("Secret sa-security-agent-code-key")
    const ephemeral = renderNotes({ set: { ...SECRET, "auditVolume.persistence.enabled": false } })
    expect(ephemeral).toContain("LOST with the pod")
  })

  it.each([
    [{}, "auth.existingSecret or auth.tokensFile.existingSecret is required"],
    [
      { ...SECRET, replicaCount: 2, "sessions.store": "redis" },
      "auditVolume.persistence.accessModes is ReadWriteOnce, but up to 2 replicas can run"
    ],
    [
      { ...SECRET, "sessions.store": "redis", "autoscaling.enabled": true },
      "auditVolume.persistence.accessModes is ReadWriteOnce, but up to 4 replicas can run"
    ],
    [{ ...SECRET, "api.rateLimit": -1 }, "/api/rateLimit"],
    [{ ...SECRET, "api.allowedOrigins": "{https://console.example/path}" }, "/api/allowedOrigins/0"],
    [{ ...SECRET, "api.trustedProxies": "{everyone}" }, "/api/trustedProxies/0"],
    [{ ...SECRET, "auditVolume.persistence.accessModes[0]": "ReadOnlyMany" }, "/auditVolume/persistence/accessModes/0"],
    [{ ...SECRET, "auth.tokensFile.mountPath": "tokens" }, "/auth/tokensFile/mountPath"],
    [{ ...SECRET, "auth.tokensFile.existingSecret": "Bad_Name" }, "/auth/tokensFile/existingSecret"],
    [{ ...SECRET, "codeKey.key": "a/b" }, "/codeKey/key"],
    [
      { ...SECRET, "guardrails.confirmationMaxFailuresPerPrincipal": 0 },
      "/guardrails/confirmationMaxFailuresPerPrincipal"
    ],
    [{ ...SECRET, replicaCount: 2 }, "sessions.store=memory keeps sessions inside one pod"],
    [{ ...SECRET, "autoscaling.enabled": true }, "sessions.store=memory keeps sessions inside one pod"],
    [{ "auth.allowUnauthenticated": true, "sessions.store": "redis" }, "reads REDIS_URL from the Secret"],
    [{ ...SECRET, metricsNamespace: "waf-team" }, "/metricsNamespace"],
    [{ ...SECRET, "sessions.store": "sqlite" }, "/sessions/store"],
    [{ ...SECRET, "securityContext.readOnlyRootFilesystem": false }, "/securityContext/readOnlyRootFilesystem"],
    [{ ...SECRET, replicas: 2 }, "additional properties 'replicas' not allowed"]
  ] as Array<[Record<string, string | number | boolean>, string]>)(
    "refuses to render %o with a clear message",
    (set, message) => {
      const result = renderChart({ set })
      expect(result.status).not.toBe(0)
      expect(result.stderr).toContain(message)
    }
  )
})
