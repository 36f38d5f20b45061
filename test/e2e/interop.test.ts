// Interop end to end: the built service, a separate SafeLine simulator, a real
// Prometheus scraping /metrics and evaluating the shipped alert rules, and a real Jaeger v2
// receiving the OTLP spans. Scripted conversations run once; each test then checks one signal
// in the system users actually run, never through our own parsers of our own output.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { readJsonl } from "../support/jsonl.js"
import { alertRules, PROMETHEUS_RULE, ruleGroupsOf } from "../support/rules.js"
import {
  type AgentService,
  type ChatReply,
  type SimulatorProcess,
  startService,
  startSimulator,
  type TraceEvent
} from "./support/AgentStack.js"
import {
  childrenOf,
  type ExportedSpan,
  type FetchedTrace,
  fetchTrace,
  findTraceIds,
  type JaegerServer,
  KIND_INTERNAL,
  STATUS_ERROR,
  startJaeger,
  subtreeOf
} from "./support/JaegerServer.js"
import { type PrometheusServer, type Sample, startPrometheus } from "./support/PrometheusServer.js"

const TURN_SPAN = "invoke_agent security-agent"
/** Nothing in the bundled docs answers this; the router still sends it to the docs agent. */
const UNANSWERABLE = "what is the capital of mongolia's stock exchange listing policy for kubernetes operators"
/** Failing turns after SafeLine goes away: enough for a clear failure ratio on each tool. */
const OUTAGE_TURNS = 5

interface ScriptedTurn {
  readonly label: string
  readonly message: string
  readonly reply: ChatReply
}

const run = Date.now().toString(36)
const SESSIONS = {
  ops: `e2e-ops-${run}`,
  ban: `e2e-ban-${run}`,
  docs: `e2e-docs-${run}`,
  unknown: `e2e-unknown-${run}`,
  outage: `e2e-outage-${run}`
}

describe("interop with a real Prometheus and a real Jaeger", () => {
  let dir: string
  let jaeger: JaegerServer | undefined
  let simulator: SimulatorProcess | undefined
  let service: AgentService | undefined
  let prometheus: PrometheusServer | undefined
  const turns: Array<ScriptedTurn> = []
  let confirmationCode = ""
  let safelineToken = ""
  let readyWithSafeline: any
  let readyWithoutSafeline: any
  let events: Array<TraceEvent> = []
  const traces = new Map<string, FetchedTrace>()

  /** The confirmation code as a whole word (hex ids and timestamps do not count). */
  const codePattern = () => new RegExp(`\\b${confirmationCode}\\b`)
  const turn = (label: string) => {
    const found = turns.find((t) => t.label === label)
    if (found === undefined) throw new Error(`no scripted turn ${label}`)
    return found
  }
  const say = async (label: string, message: string, sessionId: string) => {
    const reply = await service!.chat(message, sessionId)
    turns.push({ label, message, reply })
    return reply
  }
  const eventsOf = (t: ScriptedTurn) =>
    events.filter((e) => e.session_id === t.reply.session_id && e.turn_id === t.reply.turn_id)
  const traceOf = async (t: ScriptedTurn) => {
    const cached = traces.get(t.reply.trace_id)
    if (cached !== undefined) return cached
    const fetched = await fetchTrace(jaeger!, t.reply.trace_id)
    traces.set(t.reply.trace_id, fetched)
    return fetched
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sa-e2e-"))
    // allSettled, not all: whatever did start is assigned, so afterAll stops it.
    const started = await Promise.allSettled([
      startJaeger(dir).then((j) => (jaeger = j)),
      startSimulator(dir).then((s) => (simulator = s))
    ])
    for (const result of started) if (result.status === "rejected") throw result.reason
    safelineToken = simulator!.token
    service = await startService(dir, { safeline: simulator!, otlpEndpoint: jaeger!.otlpHttpEndpoint })
    prometheus = await startPrometheus(dir, service.host)
    // The zero-valued series must be in the TSDB before the first turn, so rate() sees the rise.
    await eventually(
      async () => {
        expect(await prometheus!.targetHealth()).toBe("up")
        const [sample] = await prometheus!.query(`security_agent_chat_requests_total{job="${prometheus!.job}"}`)
        expect(sample?.value).toBe(0)
      },
      { what: "Prometheus' first scrape of the service" }
    )
    readyWithSafeline = await service.readyz()

    await say("traffic", "what is my traffic?", SESSIONS.ops)
    await say("attacks", "show me recent attacks", SESSIONS.ops)
    const ban = await say("ban", "ban 203.0.113.7", SESSIONS.ban)
    confirmationCode = ban.reply.match(/confirm (\d{6})/)?.[1] ?? ""
    if (confirmationCode === "") throw new Error(`the blacklist request asked for no confirmation code: ${ban.reply}`)
    await say("confirm", `confirm ${confirmationCode}`, SESSIONS.ban)
    await say("docs", "how do I configure rate limiting in safeline", SESSIONS.docs)
    await say("unknown", UNANSWERABLE, SESSIONS.unknown)

    await simulator!.stop()
    simulator = undefined
    for (let i = 1; i <= OUTAGE_TURNS; i++) await say(`outage-${i}`, "what is my traffic?", SESSIONS.outage)
    readyWithoutSafeline = await service.readyz()

    events = await eventually(
      () => {
        const all = readJsonl<TraceEvent>(service!.jsonlPath)
        const completed = all.filter((e) => e.event === "turn.completed").length
        if (completed !== turns.length) throw new Error(`${completed} of ${turns.length} turns completed in the JSONL`)
        return all
      },
      { what: "every turn in the JSONL trace file" }
    )
  })

  afterAll(async () => {
    // Every child is stopped (SIGTERM, SIGKILL after 10 s) whatever happened above.
    const stops = [service, simulator, prometheus, jaeger].map((p) => p?.stop())
    await Promise.allSettled(stops)
    if (dir === undefined) return
    if (process.env.E2E_KEEP_TMP === undefined) {
      rmSync(dir, { recursive: true, force: true })
      return
    }
    const logs = { "service.log": service, "prometheus.log": prometheus, "jaeger.log": jaeger }
    for (const [name, p] of Object.entries(logs)) if (p !== undefined) writeFileSync(join(dir, name), p.output())
    console.log(`E2E_KEEP_TMP: configs, JSONL, audit log and process logs kept in ${dir}`)
  })

  describe("the scripted conversations", () => {
    it("reach the right specialist and answer as a user expects", () => {
      expect(turn("traffic").reply).toMatchObject({ route: "monitor", turn_id: "1" })
      expect(turn("traffic").reply.reply).toMatch(/req\/s/)
      expect(turn("attacks").reply).toMatchObject({ route: "log_analyst", turn_id: "2" })
      expect(turn("attacks").reply.reply).toMatch(/attack events/)

      expect(turn("ban").reply.route).toBe("config_manager")
      expect(turn("ban").reply.pending_action?.action).toBe("blacklist_ip")
      expect(JSON.stringify(turn("ban").reply.pending_action)).not.toContain(confirmationCode)
      expect(turn("confirm").reply).toMatchObject({ route: "config_manager", turn_id: "2" })
      expect(turn("confirm").reply.reply).toMatch(/203\.0\.113\.7 is blacklisted/)
      expect(turn("confirm").reply.pending_action).toBeUndefined()

      expect(turn("docs").reply.route).toBe("rag_agent")
      expect(turn("docs").reply.sources.length).toBeGreaterThan(0)
      expect(turn("unknown").reply.route).toBe("rag_agent")
      expect(turn("unknown").reply.sources).toEqual([])

      for (const t of turns.filter((t) => t.label.startsWith("outage-"))) {
        expect(t.reply.route).toBe("monitor")
        expect(t.reply.reply).toMatch(/Cannot reach SafeLine .*ECONNREFUSED/)
      }
      expect(readyWithSafeline.dependencies.safeline.ok).toBe(true)
      expect(readyWithoutSafeline.dependencies.safeline.ok).toBe(false)
    })

    it("end the documentation question in FINAL and the unanswerable one in ESCALATE", () => {
      const decisions = (label: string) =>
        eventsOf(turn(label))
          .filter((e) => e.event === "selfrag.decision")
          .map((e) => e.metadata.decision)
      expect(decisions("docs").at(-1)).toBe("FINAL")
      expect(decisions("unknown").at(-1)).toBe("ESCALATE")
      expect(eventsOf(turn("unknown")).find((e) => e.event === "route.selected")?.metadata.selected_agent).toBe(
        "rag_agent"
      )
    })
  })

  describe("Prometheus (scraping /metrics, HTTP query API)", () => {
    /** The service's samples of one metric, keyed by the given labels (and nothing else). */
    const samplesBy = async (metric: string, labelNames: ReadonlyArray<string>) => {
      const samples: Array<Sample> = await prometheus!.query(`${metric}{job="${prometheus!.job}"}`)
      const byKey = new Map<string, number>()
      for (const s of samples) {
        const { __name__, job, instance, ...labels } = s.labels
        expect(Object.keys(labels).sort(), `labels of ${metric}`).toEqual([...labelNames].sort())
        byKey.set(labelKey(labels, labelNames), s.value)
      }
      return byKey
    }
    const labelKey = (labels: Readonly<Record<string, unknown>>, names: ReadonlyArray<string>) =>
      names.map((n) => `${n}=${String(labels[n])}`).join(",")
    /** How many JSONL events of a kind carry each combination of metadata values. */
    const jsonlCounts = (event: string, labelNames: ReadonlyArray<string>) => {
      const counts = new Map<string, number>()
      for (const e of events.filter((e) => e.event === event)) {
        const key = labelKey(e.metadata, labelNames)
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      return counts
    }
    /**
     * Polls Prometheus until the counter agrees with the JSONL file series by series (a series the
     * JSONL never mentions must be 0) and returns the samples for further checks.
     */
    const agreesWithJsonl = (metric: string, event: string, labelNames: ReadonlyArray<string>) =>
      eventually(
        async () => {
          const scraped = await samplesBy(metric, labelNames)
          const expected = jsonlCounts(event, labelNames)
          for (const [key, count] of expected) expect(scraped.get(key), `${metric}{${key}}`).toBe(count)
          for (const [key, value] of scraped) if (!expected.has(key)) expect(value, `${metric}{${key}}`).toBe(0)
          return scraped
        },
        { what: `${metric} in Prometheus to match the JSONL ${event} events` }
      )

    const outageTurns = () => turns.filter((t) => t.label.startsWith("outage-")).length

    it("scrapes the service and loads every shipped alert rule", async () => {
      expect(await prometheus!.targetHealth()).toBe("up")
      const response = await fetch(`${prometheus!.url}/api/v1/rules`)
      const groups: Array<any> = ((await response.json()) as any).data.groups
      const alerts = groups.flatMap((g) => g.rules).filter((r) => r.type === "alerting")
      const shipped = alertRules(ruleGroupsOf(readFileSync(PROMETHEUS_RULE, "utf8"))).map((r) => r.alert)
      expect(alerts.map((r) => r.name).sort()).toEqual(shipped.sort())
      for (const rule of alerts) expect(rule.health, `${rule.name}: ${rule.lastError ?? ""}`).toBe("ok")
    })

    it("counts routes and handoffs per agent as the turns went", async () => {
      const routes = await agreesWithJsonl("security_agent_agent_route_total", "route.selected", ["selected_agent"])
      expect(routes.get("selected_agent=monitor")).toBe(1 + outageTurns())
      expect(routes.get("selected_agent=log_analyst")).toBe(1)
      expect(routes.get("selected_agent=config_manager")).toBe(2)
      expect(routes.get("selected_agent=rag_agent")).toBe(2)
      expect(routes.get("selected_agent=direct")).toBe(0)

      const handoffs = await agreesWithJsonl("security_agent_agent_handoff_total", "route.handoff", [
        "from_agent",
        "to_agent"
      ])
      expect(handoffs.get("from_agent=supervisor,to_agent=config_manager")).toBe(2)
      expect(handoffs.get("from_agent=supervisor,to_agent=rag_agent")).toBe(2)
    })

    it("counts tool calls by agent, tool and outcome, failures included", async () => {
      const tools = await agreesWithJsonl("security_agent_agent_tool_calls_total", "tool.call", [
        "agent",
        "tool",
        "status"
      ])
      expect(tools.get("agent=config_manager,tool=tool_manage_ip_blacklist,status=ok")).toBe(1)
      expect(tools.get("agent=log_analyst,tool=tool_get_attack_events,status=ok")).toBeGreaterThanOrEqual(1)
      expect(tools.get("agent=rag_agent,tool=tool_rag_search,status=ok")).toBeGreaterThanOrEqual(2)
      // The mode is read on every turn, so it fails on every outage turn; the statistics may still
      // answer the first one from their time bucket, but that failure forgets them, so every
      // later outage turn reads them again and fails too.
      expect(tools.get("agent=monitor,tool=tool_get_protection_mode,status=error")).toBe(outageTurns())
      const statsErrors = tools.get("agent=monitor,tool=tool_get_traffic_stats,status=error") ?? 0
      expect(statsErrors).toBeGreaterThanOrEqual(outageTurns() - 1)
      expect(statsErrors).toBeLessThanOrEqual(outageTurns())
      expect(tools.get("agent=monitor,tool=tool_get_traffic_stats,status=ok")).toBe(1 + outageTurns() - statsErrors)

      const [latency] = await prometheus!.query(
        `sum(security_agent_agent_tool_latency_seconds_count{job="${prometheus!.job}",tool="tool_manage_ip_blacklist"})`
      )
      expect(latency?.value).toBe(1)
    })

    it("counts guardrail and Self-RAG decisions with their reasons", async () => {
      const guardrails = await agreesWithJsonl("security_agent_agent_guardrail_total", "guardrail.decision", [
        "gate",
        "decision",
        "reason"
      ])
      expect(guardrails.get("gate=action_confirmation,decision=challenge,reason=confirmation_required")).toBe(1)
      expect(guardrails.get("gate=action_confirmation,decision=allow,reason=nonce_match")).toBe(1)
      expect(guardrails.get("gate=pre_tool_validation,decision=allow,reason=ip_valid")).toBe(1)
      expect(guardrails.get("gate=post_tool_result,decision=allow,reason=tool_ok")).toBe(1)
      expect(guardrails.get("gate=route_parse,decision=allow,reason=pending_confirmation")).toBe(1)

      const selfrag = await agreesWithJsonl("security_agent_agent_selfrag_decision_total", "selfrag.decision", [
        "decision",
        "reason"
      ])
      expect(selfrag.get("decision=FINAL,reason=grounded")).toBe(1)
      expect(selfrag.get("decision=ESCALATE,reason=attempts_exhausted")).toBe(1)
    })

    it("counts every JSONL event it wrote and drops none", async () => {
      await eventually(
        async () => {
          const scraped = await samplesBy("security_agent_agent_trace_events_total", ["event"])
          const expected = new Map<string, number>()
          for (const e of events) expected.set(`event=${e.event}`, (expected.get(`event=${e.event}`) ?? 0) + 1)
          for (const [key, count] of expected) expect(scraped.get(key), key).toBe(count)
          const dropped = await samplesBy("security_agent_agent_trace_events_dropped_total", ["sink"])
          expect([...dropped.values()].every((v) => v === 0)).toBe(true)
        },
        { what: "trace event counts in Prometheus" }
      )
    })

    it("records one turn latency per turn and every chat request", async () => {
      const job = prometheus!.job
      await eventually(
        async () => {
          const [count] = await prometheus!.query(`security_agent_agent_turn_latency_seconds_count{job="${job}"}`)
          expect(count?.value).toBe(turns.length)
          const [inf] = await prometheus!.query(
            `security_agent_agent_turn_latency_seconds_bucket{job="${job}",le="+Inf"}`
          )
          expect(inf?.value).toBe(turns.length)
          const [requests] = await prometheus!.query(`security_agent_chat_requests_total{job="${job}"}`)
          expect(requests?.value).toBe(turns.length)
          const [latency] = await prometheus!.query(`security_agent_chat_latency_seconds_count{job="${job}"}`)
          expect(latency?.value).toBe(turns.length)
          const [failures] = await prometheus!.query(`security_agent_chat_failures_total{job="${job}"}`)
          expect(failures?.value).toBe(0)
        },
        { what: "turn and chat counters in Prometheus" }
      )
      // The runbook's p95 query evaluates to a real number of seconds.
      const [p95] = await prometheus!.query(
        `histogram_quantile(0.95, sum by (le) (rate(security_agent_agent_turn_latency_seconds_bucket{job="${job}"}[5m])))`
      )
      expect(Number.isFinite(p95?.value)).toBe(true)
      expect(p95!.value).toBeGreaterThan(0)
    })

    it("moves the tool-failure and SafeLine-down alerts to pending or firing while SafeLine is down", async () => {
      const active = await eventually(
        async () => {
          const alerts = await prometheus!.alerts()
          const toolAlert = alerts.find(
            (a) => a.labels.alertname === "SecurityAgentToolFailureHigh" && a.labels.tool === "tool_get_traffic_stats"
          )
          const downAlert = alerts.find(
            (a) => a.labels.alertname === "SecurityAgentDependencyDown" && a.labels.dependency === "safeline"
          )
          expect(toolAlert?.state).toMatch(/^(pending|firing)$/)
          expect(downAlert?.state).toMatch(/^(pending|firing)$/)
          return alerts
        },
        { what: "SecurityAgentToolFailureHigh and SecurityAgentDependencyDown", timeoutMs: 60_000 }
      )
      const toolAlert = active.find((a) => a.labels.alertname === "SecurityAgentToolFailureHigh")!
      expect(toolAlert.labels.severity).toBe("warning")
      expect(Number(toolAlert.value)).toBeGreaterThan(0.2)
      // Tools that never failed raise nothing.
      const failingTools = new Set(
        events.filter((e) => e.event === "tool.call" && e.metadata.status === "error").map((e) => e.metadata.tool)
      )
      for (const alert of active.filter((a) => a.labels.alertname === "SecurityAgentToolFailureHigh")) {
        expect(failingTools.has(alert.labels.tool)).toBe(true)
      }
    })
  })

  describe("Jaeger (OTLP in, query API out)", () => {
    const byName = (spans: ReadonlyArray<ExportedSpan>, name: string) => spans.filter((s) => s.name === name)

    it("holds each turn as one trace whose id is the chat response's and every JSONL event's trace_id", async () => {
      const ids = turns.map((t) => t.reply.trace_id)
      expect(new Set(ids).size).toBe(turns.length)
      for (const t of turns) {
        expect(t.reply.trace_id).toMatch(/^[0-9a-f]{32}$/)
        const { spans } = await traceOf(t)
        expect(spans.every((s) => s.traceId === t.reply.trace_id)).toBe(true)
        expect(spans.every((s) => s.serviceName === "security-agent")).toBe(true)
        expect(byName(spans, TURN_SPAN), `${t.label}: one turn span`).toHaveLength(1)

        const turnEvents = eventsOf(t)
        expect(turnEvents.map((e) => e.event)).toContain("turn.completed")
        expect(new Set(turnEvents.map((e) => e.trace_id))).toEqual(new Set([t.reply.trace_id]))
        expect(events.filter((e) => e.trace_id === t.reply.trace_id)).toHaveLength(turnEvents.length)
        // Every event points at a span Jaeger really holds.
        const spanIds = new Set(spans.map((s) => s.spanId))
        for (const e of turnEvents)
          expect(spanIds.has(e.span_id), `${t.label}: ${e.event} span ${e.span_id}`).toBe(true)
      }
    })

    it("nests supervisor and specialist under the turn, tools under the specialist, with GenAI attributes", async () => {
      for (const t of turns) {
        const { spans } = await traceOf(t)
        const turnSpan = byName(spans, TURN_SPAN)[0]!
        const sessionId = t.reply.session_id
        // An in-process agent: INTERNAL, under the HTTP server span (GenAI agent-span conventions).
        expect(turnSpan.kind).toBe(KIND_INTERNAL)
        expect(turnSpan.attributes).toMatchObject({
          "gen_ai.operation.name": "invoke_agent",
          "gen_ai.agent.name": "security-agent",
          "gen_ai.conversation.id": sessionId,
          "session.id": sessionId,
          "turn.id": t.reply.turn_id
        })
        // Above the turn: the HTTP server's request span, the root of the trace.
        const request = spans.find((s) => s.spanId === turnSpan.parentSpanId)
        expect(request?.parentSpanId).toBe("")
        expect(request?.attributes["url.path"]).toBe("/v1/chat")

        const agents = childrenOf(spans, turnSpan)
        expect(agents.map((s) => s.name)).toEqual(["invoke_agent supervisor", `invoke_agent ${t.reply.route}`])
        for (const agent of agents) {
          expect(agent.attributes["gen_ai.operation.name"]).toBe("invoke_agent")
          expect(agent.attributes["gen_ai.agent.name"]).toBe(agent.name.replace("invoke_agent ", ""))
        }
        const specialist = agents[1]!

        const subtree = subtreeOf(spans, turnSpan)
        for (const span of subtree) {
          expect(span.attributes["gen_ai.conversation.id"], `${t.label}: ${span.name}`).toBe(sessionId)
        }
        const toolSpans = subtree.filter((s) => s.name.startsWith("execute_tool "))
        for (const tool of toolSpans) {
          const toolName = tool.name.replace("execute_tool ", "")
          expect(tool.attributes).toMatchObject({
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": toolName,
            "gen_ai.agent.name": t.reply.route
          })
          const parent = spans.find((s) => s.spanId === tool.parentSpanId)!
          if (t.reply.route === "rag_agent") {
            expect(parent.name).toMatch(/^selfrag\.attempt \d+$/)
            expect(parent.parentSpanId).toBe(specialist.spanId)
          } else {
            expect(parent.spanId).toBe(specialist.spanId)
          }
        }
        // The same tool calls as the JSONL tool.call events of the turn.
        const calledTools = eventsOf(t)
          .filter((e) => e.event === "tool.call")
          .map((e) => e.metadata.tool)
        expect(toolSpans.map((s) => s.attributes["gen_ai.tool.name"]).sort()).toEqual(calledTools.sort())
      }
      expect(
        turns.filter((t) => t.label !== "ban").every((t) => eventsOf(t).some((e) => e.event === "tool.call"))
      ).toBe(true)
    })

    it("shows one selfrag.attempt span per Self-RAG attempt of the docs agent", async () => {
      for (const label of ["docs", "unknown"]) {
        const t = turn(label)
        const { spans } = await traceOf(t)
        const specialist = byName(spans, "invoke_agent rag_agent")[0]!
        const attempts = childrenOf(spans, specialist).filter((s) => s.name.startsWith("selfrag.attempt "))
        const decisions = eventsOf(t).filter((e) => e.event === "selfrag.decision")
        expect(attempts.map((s) => s.name)).toEqual(decisions.map((_, i) => `selfrag.attempt ${i + 1}`))
        for (const attempt of attempts) {
          expect(childrenOf(spans, attempt).map((s) => s.name)).toContain("execute_tool tool_rag_search")
        }
      }
      expect(eventsOf(turn("unknown")).filter((e) => e.event === "selfrag.decision").length).toBeGreaterThan(1)
    })

    it("marks the failed tool spans with error.type while SafeLine is down", async () => {
      for (const t of turns.filter((t) => t.label.startsWith("outage-"))) {
        const { spans } = await traceOf(t)
        const failures = eventsOf(t).filter(
          (e) => e.event === "tool.call" && e.metadata.status === "error" && e.metadata.error_type !== "interrupted"
        )
        expect(failures.length, `${t.label}: failed tool calls`).toBeGreaterThan(0)
        for (const failure of failures) {
          const span = spans.find((s) => s.spanId === failure.span_id)!
          expect(span.name).toBe(`execute_tool ${failure.metadata.tool}`)
          expect(span.statusCode).toBe(STATUS_ERROR)
          expect(span.attributes["error.type"]).toBe(failure.metadata.error_type)
        }
        const specialist = byName(spans, "invoke_agent monitor")[0]!
        expect(specialist.attributes["error.type"]).toBe(failures[0]!.metadata.error_type)
      }
    })

    it("finds a conversation's turns by gen_ai.conversation.id", async () => {
      const expected = turns.filter((t) => t.reply.session_id === SESSIONS.ban).map((t) => t.reply.trace_id)
      await traceOf(turn("confirm"))
      const found = await findTraceIds(jaeger!, "security-agent", { "gen_ai.conversation.id": SESSIONS.ban })
      expect(found.sort()).toEqual(expected.sort())
    })

    it("receives no secret: API token, SafeLine token and confirmation code stay out of the spans", async () => {
      for (const t of turns) {
        const { raw } = await traceOf(t)
        expect(raw).not.toContain(service!.apiToken)
        expect(raw).not.toContain(safelineToken)
        expect(raw).not.toMatch(codePattern())
      }
      // Both headers are recorded (redacted), so the check above is not vacuous.
      const { spans } = await traceOf(turn("traffic"))
      const recorded = (header: string) =>
        spans.map((s) => s.attributes[`http.request.header.${header}`]).filter((v) => v !== undefined)
      expect(recorded("authorization")).toHaveLength(1)
      expect(recorded("x-slce-api-token").length).toBeGreaterThan(0)
    })
  })

  describe("from a metric to its trace (OpenMetrics exemplars, Prometheus exemplar storage)", () => {
    /** Every exemplar Prometheus stored for the service's series of a histogram. */
    const storedExemplars = (bucket: string) =>
      eventually(
        async () => {
          const series = await prometheus!.exemplars(`${bucket}{job="${prometheus!.job}"}`)
          const all = series.flatMap((s) => s.exemplars.map((e) => ({ ...e, series: s.seriesLabels })))
          expect(all.length, `exemplars of ${bucket}`).toBeGreaterThan(0)
          return all
        },
        { what: `exemplars of ${bucket} in Prometheus` }
      )

    it("keeps a trace_id exemplar of the slowest turn, and Jaeger holds that turn's trace", async () => {
      const exemplars = await storedExemplars("security_agent_agent_turn_latency_seconds_bucket")
      const slowest = exemplars.reduce((a, b) => (Number(b.value) > Number(a.value) ? b : a))
      const traceId = slowest.labels.trace_id!
      expect(traceId).toMatch(/^[0-9a-f]{32}$/)
      // The exemplar is one of the scripted turns, with that turn's own duration.
      const scripted = turns.find((t) => t.reply.trace_id === traceId)
      expect(scripted, `a scripted turn with trace ${traceId}`).toBeDefined()
      const completed = events.find((e) => e.event === "turn.completed" && e.trace_id === traceId)
      expect(Number(slowest.value)).toBeCloseTo(Number(completed?.metadata.duration_seconds), 6)
      // The bucket holding it is the one its value falls in.
      const le = Number(slowest.series.le === "+Inf" ? Number.POSITIVE_INFINITY : slowest.series.le)
      expect(Number(slowest.value)).toBeLessThanOrEqual(le)

      const trace = await fetchTrace(jaeger!, traceId)
      const turnSpan = trace.spans.find((s) => s.spanId === slowest.labels.span_id)
      expect(turnSpan?.name).toBe(TURN_SPAN)
      expect(turnSpan?.attributes["gen_ai.conversation.id"]).toBe(scripted!.reply.session_id)
    })

    it("links tool-latency buckets to the execute_tool span of the call", async () => {
      const exemplars = await storedExemplars("security_agent_agent_tool_latency_seconds_bucket")
      const sample = exemplars.find((e) => e.series.tool !== undefined)!
      const trace = await fetchTrace(jaeger!, sample.labels.trace_id!)
      const span = trace.spans.find((s) => s.spanId === sample.labels.span_id)
      expect(span?.name).toBe(`execute_tool ${sample.series.tool}`)
      expect(span?.attributes["gen_ai.agent.name"]).toBe(sample.series.agent)
    })
  })

  describe("the JSONL trace file and the guardrail audit log", () => {
    it("hold the same guardrail decisions, with the same correlation ids, for the blacklist turns", async () => {
      const ban = turn("ban").reply
      const confirm = turn("confirm").reply
      const audit = await eventually(
        () => {
          const records = readJsonl<TraceEvent>(service!.auditPath).filter((r) => r.session_id === SESSIONS.ban)
          if (records.length < 9) throw new Error(`${records.length} audit records for the blacklist session`)
          return records
        },
        { what: "the blacklist turns in the audit log" }
      )
      const fromJsonl = events.filter((e) => e.session_id === SESSIONS.ban && e.event === "guardrail.decision")
      const canonical = (records: ReadonlyArray<TraceEvent>) => records.map((r) => JSON.stringify(r)).sort()
      expect(canonical(audit)).toEqual(canonical(fromJsonl))

      const ids = (records: ReadonlyArray<TraceEvent>) =>
        records.map((r) => [
          r.session_id,
          r.turn_id,
          r.trace_id,
          r.metadata.gate,
          r.metadata.decision,
          r.metadata.reason
        ])
      expect(ids(audit)).toEqual([
        [SESSIONS.ban, "1", ban.trace_id, "route_parse", "allow", "allowed_token"],
        [SESSIONS.ban, "1", ban.trace_id, "authorization", "allow", "role_ok"],
        [SESSIONS.ban, "1", ban.trace_id, "pre_tool_validation", "allow", "ip_valid"],
        [SESSIONS.ban, "1", ban.trace_id, "action_confirmation", "challenge", "confirmation_required"],
        [SESSIONS.ban, "2", confirm.trace_id, "route_parse", "allow", "pending_confirmation"],
        [SESSIONS.ban, "2", confirm.trace_id, "authorization", "allow", "role_ok"],
        [SESSIONS.ban, "2", confirm.trace_id, "action_confirmation", "allow", "nonce_match"],
        [SESSIONS.ban, "2", confirm.trace_id, "change_audit", "allow", "audited"],
        [SESSIONS.ban, "2", confirm.trace_id, "post_tool_result", "allow", "tool_ok"]
      ])
      // The change itself: an intent record before it was applied and its outcome after, fsynced.
      const changes = readJsonl(service!.changesPath).filter((r) => r.session_id === SESSIONS.ban)
      expect(changes.map((r) => [r.event, r.phase, r.action, r.trace_id, r.status])).toEqual([
        ["waf.change", "intent", "blacklist_ip", confirm.trace_id, undefined],
        ["waf.change", "outcome", "blacklist_ip", confirm.trace_id, "ok"]
      ])
      expect(changes[0].change_id).toBe(changes[1].change_id)
      const everything = JSON.stringify(readJsonl(service!.auditPath)) + JSON.stringify(events)
      expect(everything).not.toMatch(codePattern())
    })
  })
})
