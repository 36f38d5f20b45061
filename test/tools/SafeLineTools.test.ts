// The tool layer: every call recorded (metric + trace event) inside an `execute_tool` span with
// error.type on failure; failures reach the caller as ToolError, never as empty results.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Ref } from "effect"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { withTurnSpan } from "../../src/observability/Correlation.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import { SafeLineTools } from "../../src/tools/SafeLineTools.js"
import type { ToolError } from "../../src/tools/ToolError.js"
import { simulatorAndClient } from "../safeline/SafeLineFixture.js"
import { sampleValue } from "../support/exposition.js"
import { testObservability } from "../support/layers.js"
import { inMemorySpans } from "../support/spans.js"

/** Tools over a fresh simulator, with in-memory telemetry and spans. */
const setup = (connection: Parameters<typeof simulatorAndClient>[1] = {}) =>
  Effect.gen(function* () {
    const { simulator, client } = yield* simulatorAndClient({}, connection)
    const tools = yield* Effect.provide(
      SafeLineTools,
      SafeLineTools.layer.pipe(Layer.provide(Layer.succeed(SafeLineClient, client)))
    )
    return { simulator, tools }
  })

const metricsText = Effect.flatMap(AgentMetrics, (m) => Effect.map(m.exposition, (text) => ({ text, ns: m.namespace })))

const toolCalls = (tool: string, agent: string, status: string) =>
  Effect.map(metricsText, ({ text, ns }) => sampleValue(text, `${ns}_agent_tool_calls_total`, { agent, status, tool }))

const failure = <A>(exit: Exit.Exit<A, ToolError>): ToolError => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a ToolError, got ${String(exit)}`)
  return exit.cause.error
}

describe("SafeLineTools", () => {
  it.scopedLive("records every read as an ok tool call, in an execute_tool span of the turn", () => {
    const { exporter, layer } = inMemorySpans()
    return Effect.gen(function* () {
      const { tools } = yield* setup()
      yield* Effect.gen(function* () {
        const stats = yield* tools.getTrafficStats("monitor")
        expect(stats.qps).toBeGreaterThan(0)
        const summary = yield* tools.getAttackEvents("log_analyst", { limit: 10 })
        expect(summary.events.length).toBe(10)
        expect((yield* tools.getSystemInfo("monitor")).simulated).toBe(true)
        expect((yield* tools.getProtectionMode("config_manager")).mode).toBe("block")
        expect((yield* tools.cveLookup("threat_intel", "CWE-89"))[0]!.name).toBe("SQL injection")
      }).pipe(withTurnSpan("sess-tools", "3", LOCAL_CLI_PRINCIPAL))

      expect(yield* toolCalls("tool_get_traffic_stats", "monitor", "ok")).toBe(1)
      expect(yield* toolCalls("tool_get_attack_events", "log_analyst", "ok")).toBe(1)
      expect(yield* toolCalls("tool_get_system_info", "monitor", "ok")).toBe(1)
      expect(yield* toolCalls("tool_get_protection_mode", "config_manager", "ok")).toBe(1)
      expect(yield* toolCalls("tool_cve_lookup", "threat_intel", "ok")).toBe(1)

      const events = (yield* Ref.get(yield* MemoryTraceEvents)).filter((e) => e.event === "tool.call")
      expect(events.map((e) => e.metadata.tool)).toEqual([
        "tool_get_traffic_stats",
        "tool_get_attack_events",
        "tool_get_system_info",
        "tool_get_protection_mode",
        "tool_cve_lookup"
      ])
      expect(events.every((e) => e.metadata.status === "ok" && e.session_id === "sess-tools")).toBe(true)

      const spans = exporter.getFinishedSpans()
      const turn = spans.find((s) => s.name === "invoke_agent security-agent")!
      const tool = spans.find((s) => s.name === "execute_tool tool_get_attack_events")!
      expect(tool.attributes).toMatchObject({
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "tool_get_attack_events",
        "gen_ai.conversation.id": "sess-tools",
        "turn.id": "3"
      })
      expect(tool.parentSpanContext?.spanId).toBe(turn.spanContext().spanId)
      expect(tool.attributes["error.type"]).toBeUndefined()
      // The tool's trace event carries the tool span's id.
      expect(events[1]!.span_id).toBe(tool.spanContext().spanId)
    }).pipe(Effect.provide(Layer.merge(testObservability(), layer)))
  })

  it.scopedLive("a failed read is an error the caller sees, recorded with its type on metric, event and span", () => {
    const { exporter, layer } = inMemorySpans()
    return Effect.gen(function* () {
      const { simulator, tools } = yield* setup({ retries: 1 })
      yield* simulator.setFailure("http500")
      const error = failure(yield* Effect.exit(tools.getAttackEvents("log_analyst")))
      expect(error).toMatchObject({ tool: "tool_get_attack_events", errorType: "safeline_http_error" })
      expect(error.message).toContain("HTTP 500")
      expect(yield* toolCalls("tool_get_attack_events", "log_analyst", "error")).toBe(1)
      expect(yield* toolCalls("tool_get_attack_events", "log_analyst", "ok")).toBe(0)

      const event = (yield* Ref.get(yield* MemoryTraceEvents)).find((e) => e.event === "tool.call")!
      expect(event.metadata).toMatchObject({ status: "error", error_type: "safeline_http_error" })
      const span = exporter.getFinishedSpans().find((s) => s.name === "execute_tool tool_get_attack_events")!
      expect(span.attributes["error.type"]).toBe("safeline_http_error")
      expect(span.status.code).toBe(2)

      yield* simulator.setFailure("envelope_error")
      const envelope = failure(yield* Effect.exit(tools.getTrafficStats("monitor")))
      expect(envelope.errorType).toBe("safeline_envelope_error")
    }).pipe(Effect.provide(Layer.merge(testObservability(), layer)))
  })

  it.scopedLive("a rejected token says so, and restoring with nothing to restore is not_found", () =>
    Effect.gen(function* () {
      const { tools } = yield* setup({ token: "stale" })
      const auth = failure(yield* Effect.exit(tools.getSystemInfo("monitor")))
      expect(auth.errorType).toBe("safeline_auth")
      expect(auth.message).toContain("SafeLine token rejected")

      const { tools: good } = yield* setup()
      const nothing = failure(yield* Effect.exit(good.restoreProtectionMode("config_manager")))
      expect(nothing).toMatchObject({ tool: "tool_set_protection_mode", errorType: "not_found" })
      expect(yield* toolCalls("tool_set_protection_mode", "config_manager", "error")).toBe(1)
    }).pipe(Effect.provide(testObservability()))
  )

  it.scopedLive("changes the mode and the blacklist through the tools", () =>
    Effect.gen(function* () {
      const { simulator, tools } = yield* setup()
      const change = yield* tools.setProtectionMode("config_manager", "detect")
      expect(change).toMatchObject({ previous: { mode: "block" }, current: { mode: "detect" } })
      expect((yield* tools.restoreProtectionMode("config_manager")).current.mode).toBe("block")
      const add = yield* tools.manageIpBlacklist("config_manager", "add", "203.0.113.77", "scanner")
      expect(add).toMatchObject({ operation: "add", target: "203.0.113.77", changed: true })
      expect(add.groupId).toBeGreaterThan(0)
      expect(add.policyId).toBeGreaterThan(0)
      const again = yield* tools.manageIpBlacklist("config_manager", "add", "203.0.113.77")
      expect(again.changed).toBe(false)
      const bad = failure(yield* Effect.exit(tools.manageIpBlacklist("config_manager", "add", "not-an-ip")))
      expect(bad.errorType).toBe("invalid_target")
      expect((yield* simulator.snapshot).ipGroups.filter((g) => g.ips.includes("203.0.113.77"))).toHaveLength(1)
      expect(yield* toolCalls("tool_manage_ip_blacklist", "config_manager", "ok")).toBe(2)
      expect(yield* toolCalls("tool_set_protection_mode", "config_manager", "ok")).toBe(2)
    }).pipe(Effect.provide(testObservability()))
  )

  it.scopedLive("ping reports the version and the simulator flag without recording a tool call", () =>
    Effect.gen(function* () {
      const { tools } = yield* setup()
      const before = yield* metricsText
      expect(yield* tools.ping).toEqual({ version: "9.3.0-simulator", simulated: true })
      const after = yield* metricsText
      const series = (text: string) => text.split("\n").filter((l) => l.includes("tool_get_system_info"))
      expect(series(after.text)).toEqual(series(before.text))
    }).pipe(Effect.provide(testObservability()))
  )
})
