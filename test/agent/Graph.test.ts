import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { Turn } from "../../src/agent/Turn.js"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { MemoryAuditRecords } from "../../src/observability/AuditLog.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { scriptedRoutes, testApp } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"
import { inMemorySpans } from "../support/spans.js"

const codeIn = (reply: string) => reply.match(/confirm (\d{6})/)?.[1] ?? ""
const wrongCode = (code: string) => (code === "000000" ? "000001" : "000000")

const run = (message: string, sessionId: string) =>
  Effect.flatMap(Turn, (turn) => turn.run({ message, sessionId, principal: LOCAL_CLI_PRINCIPAL }))

const metrics = Effect.gen(function* () {
  const m = yield* AgentMetrics
  const text = yield* m.exposition
  return (name: string, labels: Record<string, string> = {}) => sampleValue(text, `${m.namespace}_${name}`, labels) ?? 0
})

const guardrailEvents = Effect.map(Effect.flatMap(MemoryTraceEvents, Ref.get), (events) =>
  events
    .filter((e) => e.event === "guardrail.decision")
    .map((e) => `${e.metadata.gate}:${e.metadata.decision}:${e.metadata.reason}`)
)

describe("the agent graph (offline reasoner, simulator)", () => {
  it.live("routes a traffic question to monitor and answers with the simulator's numbers", () =>
    Effect.gen(function* () {
      const result = yield* run("what is my traffic?", "g-monitor")
      expect(result.route).toBe("monitor")
      expect(result.turn_id).toBe("1")
      expect(result.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(result.reply).toMatch(/Current traffic: [\d.,]+ requests\/s/)
      expect(result.reply).toContain("Protection mode:")
      const value = yield* metrics
      expect(value("agent_route_total", { selected_agent: "monitor" })).toBe(1)
      expect(value("agent_handoff_total", { from_agent: "supervisor", to_agent: "monitor" })).toBe(1)
      expect(value("agent_tool_calls_total", { agent: "monitor", status: "ok", tool: "tool_get_traffic_stats" })).toBe(
        1
      )
      expect(value("agent_node_runs_total", { agent: "monitor", status: "ok" })).toBe(1)
      expect(value("agent_turn_latency_seconds_count")).toBe(1)
      const events = yield* Effect.flatMap(MemoryTraceEvents, Ref.get)
      expect(events.map((e) => e.event)).toEqual(
        expect.arrayContaining([
          "turn.started",
          "guardrail.decision",
          "route.selected",
          "route.handoff",
          "tool.call",
          "turn.completed"
        ])
      )
      expect(new Set(events.map((e) => e.trace_id))).toEqual(new Set([result.trace_id]))
      expect(new Set(events.map((e) => e.turn_id))).toEqual(new Set(["1"]))
      // The offline reasoner says so in the turn's record.
      expect(events.find((e) => e.event === "turn.completed")?.metadata).toMatchObject({
        reasoner: "offline",
        status: "ok"
      })
      const second = yield* run("show me recent attacks", "g-monitor")
      expect(second.turn_id).toBe("2")
      expect(second.route).toBe("log_analyst")
      expect(second.trace_id).not.toBe(result.trace_id)
      expect(second.reply).toMatch(/Of these \d+ events: \d[\d,]* attack requests blocked and \d[\d,]* passed/)
    }).pipe(Effect.provide(testApp()))
  )

  it.live("covers every specialist with its tools", () =>
    Effect.gen(function* () {
      const cases: Array<[string, string, RegExp]> = [
        ["which CWE is sql injection", "threat_intel", /CWE-89/],
        ["legit requests are being blocked", "tuner", /false positive|allow/i],
        ["write an incident report", "reporter", /## Summary[\s\S]*## Timeline[\s\S]*## Recommendations/],
        ["hello", "direct", /security-agent/],
        ["how do I configure rate limiting in safeline", "rag_agent", /\[\d\]/]
      ]
      for (const [message, route, pattern] of cases) {
        const result = yield* run(message, `g-${route}`)
        expect(result.route, message).toBe(route)
        expect(result.reply, message).toMatch(pattern)
      }
      const value = yield* metrics
      expect(
        value("agent_tool_calls_total", { agent: "threat_intel", status: "ok", tool: "tool_cve_lookup" })
      ).toBeGreaterThan(0)
      expect(value("agent_tool_calls_total", { agent: "tuner", status: "ok", tool: "tool_get_attack_events" })).toBe(1)
      expect(value("agent_tool_calls_total", { agent: "tuner", status: "ok", tool: "tool_rag_search" })).toBe(1)
      expect(value("agent_tool_calls_total", { agent: "reporter", status: "ok", tool: "tool_get_traffic_stats" })).toBe(
        1
      )
      expect(
        value("agent_tool_calls_total", { agent: "rag_agent", status: "ok", tool: "tool_rag_search" })
      ).toBeGreaterThan(0)
      expect(value("agent_route_total", { selected_agent: "direct" })).toBe(1)
    }).pipe(Effect.provide(testApp()))
  )

  it.live("block mode: challenge, three wrong codes cancel it and SafeLine is unchanged", () =>
    Effect.gen(function* () {
      const simulator = yield* SafeLineSimulator
      const before = (yield* simulator.snapshot).modes
      const challenge = yield* run("switch to block mode", "g-wrong")
      expect(challenge.route).toBe("config_manager")
      expect(challenge.pending_action?.action).toBe("set_mode")
      expect(JSON.stringify(challenge.pending_action)).not.toMatch(/\d{6}/)
      const wrong = wrongCode(codeIn(challenge.reply))
      const first = yield* run(`confirm ${wrong}`, "g-wrong")
      expect(first.reply).toContain("2 attempts left")
      yield* run(`confirm ${wrong}`, "g-wrong")
      const third = yield* run(`confirm ${wrong}`, "g-wrong")
      expect(third.reply).toMatch(/cancelled/)
      expect(third.pending_action).toBeUndefined()
      expect((yield* simulator.snapshot).modes).toEqual(before)
      expect(yield* guardrailEvents).toEqual(
        expect.arrayContaining([
          "pre_tool_validation:allow:mode_valid",
          "action_confirmation:challenge:confirmation_required",
          "action_confirmation:deny:nonce_mismatch",
          "action_confirmation:deny:too_many_attempts"
        ])
      )
      const audit = yield* Effect.flatMap(MemoryAuditRecords, Ref.get)
      expect(audit.filter((r) => r.metadata.reason === "nonce_mismatch")).toHaveLength(2)
      expect(JSON.stringify(audit)).not.toContain(codeIn(challenge.reply))
    }).pipe(Effect.provide(testApp()))
  )

  it.live("ban: the right code blocks the IP in SafeLine; replayed and foreign codes are refused", () =>
    Effect.gen(function* () {
      const simulator = yield* SafeLineSimulator
      const challenge = yield* run("ban 203.0.113.7", "g-ban")
      const code = codeIn(challenge.reply)
      expect(code).toMatch(/^\d{6}$/)
      // Another session cannot use this session's code.
      const foreign = yield* run(`confirm ${code}`, "g-other")
      expect(foreign.reply).toMatch(/no pending change/)
      const confirmed = yield* run(`confirm ${code}`, "g-ban")
      expect(confirmed.reply).toMatch(/203\.0\.113\.7 is blacklisted/)
      const state = yield* simulator.snapshot
      expect(state.ipGroups.filter((g) => g.comment === "security-agent blocklist")).toHaveLength(1)
      expect(state.ipGroups.find((g) => g.comment === "security-agent blocklist")?.ips).toContain("203.0.113.7")
      expect(state.policies.filter((p) => p.action === 1 && p.is_enabled)).toHaveLength(1)
      const replay = yield* run(`confirm ${code}`, "g-ban")
      expect(replay.reply).toMatch(/no pending change/)
      expect(yield* guardrailEvents).toEqual(
        expect.arrayContaining([
          "pre_tool_validation:allow:ip_valid",
          "action_confirmation:deny:no_pending_action",
          "action_confirmation:allow:nonce_match",
          "post_tool_result:allow:tool_ok"
        ])
      )
      const value = yield* metrics
      expect(
        value("agent_tool_calls_total", { agent: "config_manager", status: "ok", tool: "tool_manage_ip_blacklist" })
      ).toBe(1)
    }).pipe(Effect.provide(testApp()))
  )

  it.live("refuses dangerous targets at validation, and cancel / expiry / pending clashes", () =>
    Effect.gen(function* () {
      const simulator = yield* SafeLineSimulator
      const everything = yield* run("block 0.0.0.0/0", "g-deny")
      expect(everything.reply).toMatch(/won't blacklist/)
      expect(everything.pending_action).toBeUndefined()
      const loopback = yield* run("ban 127.0.0.1", "g-deny")
      expect(loopback.reply).toMatch(/loopback/)
      const bogus = yield* run("ban 999.1.2.3", "g-deny")
      expect(bogus.reply).toMatch(/won't blacklist/)
      const mode = yield* run("set protection mode to turbo", "g-deny")
      expect(mode.reply).toMatch(/not a protection mode/)
      yield* run("switch to detect mode", "g-deny")
      const clash = yield* run("ban 198.51.100.23", "g-deny")
      expect(clash.reply).toMatch(/already waiting for confirmation/)
      const cancelled = yield* run("cancel", "g-deny")
      expect(cancelled.reply).toMatch(/Cancelled/)
      const nothing = yield* run("confirm 123456", "g-deny")
      expect(nothing.reply).toMatch(/no pending change/)
      expect((yield* simulator.snapshot).ipGroups.flatMap((g) => g.ips)).not.toContain("198.51.100.23")
      expect(yield* guardrailEvents).toEqual(
        expect.arrayContaining([
          "pre_tool_validation:deny:forbidden_target",
          "pre_tool_validation:deny:invalid_ip",
          "pre_tool_validation:deny:invalid_mode",
          "action_confirmation:deny:action_pending",
          "action_confirmation:deny:user_cancelled"
        ])
      )
    }).pipe(Effect.provide(testApp()))
  )

  it.live("an expired code is refused", () =>
    Effect.gen(function* () {
      const challenge = yield* run("switch to strict mode", "g-expire")
      yield* Effect.sleep("1100 millis")
      const late = yield* run(`confirm ${codeIn(challenge.reply)}`, "g-expire")
      expect(late.reply).toMatch(/expired/)
      expect(yield* guardrailEvents).toContain("action_confirmation:deny:expired")
    }).pipe(Effect.provide(testApp({ CONFIRMATION_TTL_SECONDS: "1" })))
  )

  it.live("block mode then restore: SafeLine's module map follows", () =>
    Effect.gen(function* () {
      const simulator = yield* SafeLineSimulator
      const confirm = (message: string) =>
        Effect.flatMap(run(message, "g-restore"), (r) => run(`confirm ${codeIn(r.reply)}`, "g-restore"))
      const detect = yield* confirm("switch to detect mode")
      expect(detect.reply).toMatch(/now detect/)
      expect(new Set(Object.values((yield* simulator.snapshot).modes))).toEqual(new Set(["dry_run"]))
      const block = yield* confirm("switch to block mode")
      expect(block.reply).toMatch(/now block \(was detect\)/)
      expect(new Set(Object.values((yield* simulator.snapshot).modes))).toEqual(new Set(["default"]))
      const restored = yield* confirm("restore the previous mode")
      expect(restored.reply).toMatch(/now detect/)
      expect(new Set(Object.values((yield* simulator.snapshot).modes))).toEqual(new Set(["dry_run"]))
    }).pipe(Effect.provide(testApp()))
  )
})

describe("routing guardrail with a scripted reasoner", () => {
  it.live("accepts a route wrapped in a sentence and denies an unknown one (falling back to direct)", () =>
    Effect.gen(function* () {
      const accepted = yield* run("anything", "s-1")
      expect(accepted.route).toBe("log_analyst")
      const denied = yield* run("anything", "s-2")
      expect(denied.route).toBe("direct")
      expect(yield* guardrailEvents).toEqual(["route_parse:allow:allowed_token", "route_parse:deny:invalid_token"])
      const value = yield* metrics
      expect(value("agent_handoff_total", { from_agent: "supervisor", to_agent: "direct" })).toBe(1)
    }).pipe(
      Effect.provide(
        testApp({}, { reasoner: scriptedRoutes("I'd hand this to **Log Analyst**.", "route to admin_shell now") })
      )
    )
  )

  it.live("a failing SafeLine read becomes a clear reply and a failed tool call, never a crash", () =>
    Effect.gen(function* () {
      const simulator = yield* SafeLineSimulator
      yield* simulator.setFailure("http500")
      const result = yield* run("what is my traffic?", "s-fail")
      expect(result.route).toBe("monitor")
      expect(result.reply).toMatch(/couldn't finish that \(monitor\)/)
      expect(result.reply).not.toMatch(/idle|0 requests/)
      const value = yield* metrics
      expect(
        value("agent_tool_calls_total", { agent: "monitor", status: "error", tool: "tool_get_traffic_stats" })
      ).toBe(1)
      expect(value("agent_node_runs_total", { agent: "monitor", status: "error" })).toBe(1)
      const events = yield* Effect.flatMap(MemoryTraceEvents, Ref.get)
      expect(events.find((e) => e.event === "tool.call" && e.metadata.status === "error")?.metadata.error).toBeTruthy()
    }).pipe(Effect.provide(testApp({ SAFELINE_RETRIES: "0" })))
  )
})

describe("spans of a turn", () => {
  const { exporter, layer: tracing } = inMemorySpans()
  const layer = Layer.mergeAll(testApp(), tracing)

  it.live("turn → supervisor and specialist (siblings) → tools, one trace id, conversation id on every span", () =>
    Effect.gen(function* () {
      exporter.reset()
      const result = yield* run("show me recent attacks", "span-session")
      const spans = exporter.getFinishedSpans()
      const byName = (name: string) => spans.find((s) => s.name === name)!
      const turn = byName("invoke_agent security-agent")
      const supervisor = byName("invoke_agent supervisor")
      const specialist = byName("invoke_agent log_analyst")
      const tool = byName("execute_tool tool_get_attack_events")
      expect(turn.spanContext().traceId).toBe(result.trace_id)
      expect(supervisor.parentSpanContext?.spanId).toBe(turn.spanContext().spanId)
      expect(specialist.parentSpanContext?.spanId).toBe(turn.spanContext().spanId)
      expect(tool.parentSpanContext?.spanId).toBe(specialist.spanContext().spanId)
      for (const span of spans) {
        expect(span.spanContext().traceId).toBe(result.trace_id)
        expect(span.attributes["gen_ai.conversation.id"]).toBe("span-session")
      }
    }).pipe(Effect.provide(layer))
  )
})
