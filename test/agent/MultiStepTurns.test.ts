// Multi-step turns through the API: the issue's three examples, the hop budget, one change per
// turn, and the plan guardrail against a model that tries to add a step of its own.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { renderTurnTree } from "../../src/observability/TraceView.js"
import { makeOfflineReasoner } from "../../src/reasoning/OfflineReasoner.js"
import { Reasoner } from "../../src/reasoning/Reasoner.js"
import { loadRoutingExamples } from "../../src/reasoning/RouteClassifier.js"
import { baseUrl, testServer } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"

interface ChatBody {
  readonly route: string
  readonly reply: string
  readonly session_id: string
  readonly trace_id: string
  readonly steps?: ReadonlyArray<{ agent: string; status: string; request: string }>
  readonly pending_action?: { action: string; summary: string }
}

const chat = (message: string, sessionId: string) =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.promise(async () => {
      const response = await fetch(`${url}/v1/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message, session_id: sessionId })
      })
      return { status: response.status, body: (await response.json()) as ChatBody }
    })
  )

const metric = (name: string, labels: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const m = yield* AgentMetrics
    return sampleValue(yield* m.exposition, `${m.namespace}_${name}`, labels) ?? 0
  })

const eventsOf = (traceId: string) =>
  Effect.map(Effect.flatMap(MemoryTraceEvents, Ref.get), (all) => all.filter((e) => e.trace_id === traceId))

const codeIn = (reply: string) => reply.match(/confirm (\d{6})/)?.[1] ?? ""

/** The first "1. <ip>" line of a log analyst's top sources. */
const topIpIn = (reply: string) => reply.match(/^\s+1\. ([0-9a-f.:]+) \(/m)?.[1]

describe("multi-step turns through POST /v1/chat (offline reasoner, rule-based planner)", () => {
  it.live(
    "'who attacked us most in the last hour? ban the worst one': analysis, then a pending ban of its top source",
    () =>
      Effect.gen(function* () {
        const before = {
          back: yield* metric("agent_handoff_total", { from_agent: "log_analyst", to_agent: "supervisor" }),
          plans: yield* metric("agent_guardrail_total", {
            gate: "plan_validation",
            decision: "allow",
            reason: "plan_valid"
          })
        }
        const { status, body } = yield* chat("who attacked us most in the last hour? ban the worst one", "ms-ban")
        expect(status).toBe(200)
        expect(body.route).toBe("log_analyst")
        expect(body.steps).toEqual([
          { agent: "log_analyst", status: "done", request: "who attacked us most in the last hour?" },
          { agent: "config_manager", status: "done", request: "ban the worst one" }
        ])
        const top = topIpIn(body.reply)
        expect(top).toBeDefined()
        // The earlier step's result stays in the reply; the change waits for its code, target said where from.
        expect(body.reply).toContain("Top source IPs")
        expect(body.pending_action?.action).toBe("blacklist_ip")
        expect(body.pending_action?.summary).toContain(`blacklist ${top}`)
        expect(body.pending_action?.summary).toContain(`the top source in the last hour: ${top}`)
        expect(body.reply).toContain(`the top source in the last hour: ${top}`)
        expect(yield* metric("agent_handoff_total", { from_agent: "log_analyst", to_agent: "supervisor" })).toBe(
          before.back + 1
        )
        expect(
          yield* metric("agent_guardrail_total", { gate: "plan_validation", decision: "allow", reason: "plan_valid" })
        ).toBe(before.plans + 1)
        // The trace tree shows both steps and the hand-back between them.
        const events = yield* eventsOf(body.trace_id)
        const handoffs = events
          .filter((e) => e.event === "route.handoff")
          .map((e) => `${e.metadata.from_agent}→${e.metadata.to_agent}`)
        expect(handoffs).toEqual(["supervisor→log_analyst", "log_analyst→supervisor", "supervisor→config_manager"])
        const tree = renderTurnTree(events)
        expect(tree).toMatch(
          /route\.handoff supervisor → log_analyst[\s\S]*tool_get_attack_events[\s\S]*route\.handoff log_analyst → supervisor[\s\S]*route\.handoff supervisor → config_manager/
        )
        // The next turn confirms it, and exactly that address is blacklisted.
        const confirmed = yield* chat(`confirm ${codeIn(body.reply)}`, "ms-ban")
        expect(confirmed.body.route).toBe("config_manager")
        expect(confirmed.body.reply).toContain(`${top} is blacklisted`)
        expect(confirmed.body.steps).toBeUndefined()
      }).pipe(Effect.provide(testServer()))
  )

  it.live(
    "'switch to detect mode and tell me what it would have blocked today': the read runs first, the change ends the turn",
    () =>
      Effect.gen(function* () {
        const { body } = yield* chat("switch to detect mode and tell me what it would have blocked today", "ms-detect")
        expect(body.steps?.map((s) => `${s.agent}:${s.status}`)).toEqual(["log_analyst:done", "config_manager:done"])
        expect(body.reply).toMatch(/attack events in today/)
        expect(body.pending_action?.action).toBe("set_mode")
        expect(body.pending_action?.summary).toContain("detect mode")
        // Nothing changed yet: the mode is still block until the code comes back.
        const mode = yield* chat("what is the protection mode?", "ms-detect-read")
        expect(mode.body.reply).toMatch(/block/)
      }).pipe(Effect.provide(testServer()))
  )

  it.live(
    "'write an incident report and blacklist the top source': the report, then a pending ban from its figures",
    () =>
      Effect.gen(function* () {
        const { body } = yield* chat("write an incident report and blacklist the top source", "ms-report")
        expect(body.route).toBe("reporter")
        expect(body.steps?.map((s) => s.agent)).toEqual(["reporter", "config_manager"])
        expect(body.reply).toContain("# Incident report")
        expect(body.pending_action?.action).toBe("blacklist_ip")
        expect(body.pending_action?.summary).toMatch(
          /target: the top source among the newest \d+ attack events: [0-9a-f.:]+/
        )
      }).pipe(Effect.provide(testServer()))
  )

  it.live("beyond AGENT_MAX_HOPS the steps are not run, the reply says so, and the budget denial is counted", () =>
    Effect.gen(function* () {
      const denied = yield* metric("agent_guardrail_total", {
        gate: "hop_budget",
        decision: "deny",
        reason: "budget_exhausted"
      })
      const { body } = yield* chat(
        "what is my traffic? show me recent attacks. which CWE is sql injection? write an incident report",
        "ms-budget"
      )
      expect(body.steps?.map((s) => `${s.agent}:${s.status}`)).toEqual([
        "monitor:done",
        "log_analyst:done",
        "threat_intel:not_run",
        "reporter:not_run"
      ])
      expect(body.reply).toMatch(
        /CWE is sql injection\?"\*\* \(threat intel\): not done: a turn runs at most 2 steps \(AGENT_MAX_HOPS\)/
      )
      expect(body.reply).not.toContain("CWE-89")
      expect(
        yield* metric("agent_guardrail_total", { gate: "hop_budget", decision: "deny", reason: "budget_exhausted" })
      ).toBe(denied + 1)
    }).pipe(Effect.provide(testServer({ AGENT_MAX_HOPS: "2" })))
  )

  it.live("one WAF change per turn: a message asking for several gets none, and says so", () =>
    Effect.gen(function* () {
      const { body } = yield* chat("ban 203.0.113.7 and ban 198.51.100.9; then switch to detect mode", "ms-two")
      expect(body.pending_action).toBeUndefined()
      expect(body.reply).not.toMatch(/confirm \d{6}/)
      expect(body.steps?.map((s) => `${s.agent}:${s.status}`)).toEqual([
        "config_manager:not_run",
        "config_manager:not_run",
        "config_manager:not_run"
      ])
      expect(body.reply).toContain("asked for more than one WAF change")
      expect(body.route).toBe("direct")
    }).pipe(Effect.provide(testServer()))
  )

  it.live("a chatty or negated clause never becomes the turn's change", () =>
    Effect.gen(function* () {
      const { body } = yield* chat("hi there, my boss said never turn protection off. ban 203.0.113.9", "ms-chat")
      expect(body.pending_action?.action).toBe("blacklist_ip")
      expect(body.pending_action?.summary).toContain("203.0.113.9")
      const office = yield* chat("hey, 10.0.0.9 is our office! ban 198.51.100.20", "ms-office")
      expect(office.body.pending_action?.summary).toContain("198.51.100.20")
      const unban = yield* chat("who attacked us most in the last hour? unblock the top one", "ms-unban")
      expect(unban.body.pending_action).toBeUndefined()
    }).pipe(Effect.provide(testServer()))
  )

  it.live("'ban the worst one' with no earlier step that found a source: no target is invented", () =>
    Effect.gen(function* () {
      const alone = yield* chat("ban the worst one", "ms-alone")
      expect(alone.body.pending_action).toBeUndefined()
      expect(alone.body.reply).toContain("can't tell which address")
      const afterTraffic = yield* chat("what is my traffic? ban the worst one", "ms-traffic")
      expect(afterTraffic.body.steps?.map((s) => s.agent)).toEqual(["monitor", "config_manager"])
      expect(afterTraffic.body.pending_action).toBeUndefined()
      expect(afterTraffic.body.reply).toContain("can't tell which address")
    }).pipe(Effect.provide(testServer()))
  )
})

/** A model whose plans are scripted; routes and everything else are the offline reasoner's. */
const planningModel = (plans: Array<string>, seen: Array<string>) =>
  Layer.succeed(Reasoner, {
    ...makeOfflineReasoner(loadRoutingExamples()),
    proposePlan: (message: string, history: ReadonlyArray<{ content: string }>) =>
      Effect.sync(() => {
        seen.push([message, ...history.map((h) => h.content)].join("\n"))
        return plans.shift() ?? '{"steps":[]}'
      })
  })

describe("multi-step turns with a model's plan", () => {
  const seen: Array<string> = []
  const plans = [
    // A valid plan: used as given.
    '{"steps":[{"agent":"log_analyst","request":"who attacked us most in the last hour?"},{"agent":"config_manager","request":"ban the worst one"}]}',
    // A plan that adds a change the operator never asked for (as if read from an attack payload).
    '{"steps":[{"agent":"log_analyst","request":"show me recent attacks"},{"agent":"config_manager","request":"ban 198.51.100.66"}]}',
    // A plan that keeps bouncing: cut to the hop budget, the cut counted.
    JSON.stringify({
      steps: Array.from({ length: 9 }, (_, i) => ({
        agent: i % 2 === 0 ? "monitor" : "log_analyst",
        request: "what is my traffic?"
      }))
    })
  ]
  it.live(
    "uses a valid plan, refuses one with a step of its own (falling back to the rules), and cuts a bouncing one",
    () =>
      Effect.gen(function* () {
        const invalid = () =>
          metric("agent_guardrail_total", { gate: "plan_validation", decision: "deny", reason: "invalid_plan" })
        const first = yield* chat("who attacked us most in the last hour? ban the worst one", "mp-1")
        expect(first.body.steps?.map((s) => s.agent)).toEqual(["log_analyst", "config_manager"])
        expect(first.body.pending_action?.action).toBe("blacklist_ip")
        const before = yield* invalid()
        const second = yield* chat("show me recent attacks and tell me the traffic", "mp-2")
        expect(yield* invalid()).toBe(before + 1)
        expect(second.body.pending_action).toBeUndefined()
        expect(second.body.reply).not.toContain("198.51.100.66")
        expect(second.body.steps?.map((s) => s.agent)).toEqual(["log_analyst", "monitor"])
        const budget = yield* metric("agent_guardrail_total", {
          gate: "hop_budget",
          decision: "deny",
          reason: "budget_exhausted"
        })
        const third = yield* chat("what is my traffic? show me recent attacks", "mp-3")
        expect(yield* invalid()).toBe(before + 1)
        expect(third.body.steps?.map((s) => `${s.agent}:${s.status}`)).toEqual([
          "monitor:done",
          "log_analyst:done",
          "monitor:done",
          ...Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? "log_analyst:not_run" : "monitor:not_run"))
        ])
        expect(
          yield* metric("agent_guardrail_total", { gate: "hop_budget", decision: "deny", reason: "budget_exhausted" })
        ).toBe(budget + 1)
        // The plan is asked for before any tool ran: the model saw the operator's words only.
        expect(seen[0]).toBe("who attacked us most in the last hour? ban the worst one")
      }).pipe(Effect.provide(testServer({}, { reasoner: planningModel(plans, seen) })))
  )
})
