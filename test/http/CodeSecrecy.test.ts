// Confirmation codes never leave the turn that issued them in clear: not in the stored session,
// not in any prompt (history or message), and — with AGENT_TRACE_CAPTURE_CONTENT=true — not in
// JSONL events, the trace endpoint or span attributes, whatever words surround them.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { sessionStoreKey } from "../../src/agent/Turn.js"
import { ANONYMOUS_PRINCIPAL } from "../../src/domain/Principal.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { makeOfflineReasoner } from "../../src/reasoning/OfflineReasoner.js"
import { Reasoner } from "../../src/reasoning/Reasoner.js"
import { loadRoutingExamples } from "../../src/reasoning/RouteClassifier.js"
import { SessionStore } from "../../src/sessions/SessionStore.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { baseUrl, testServer } from "../support/app.js"
import { inMemorySpans } from "../support/spans.js"

/** Everything any prompt was built from: each routed message and its history, each compose request. */
const prompts: Array<string> = []
const recordingReasoner = Layer.sync(Reasoner, () => {
  const offline = makeOfflineReasoner(loadRoutingExamples())
  return {
    ...offline,
    proposeRoute: (message, history) => {
      prompts.push(JSON.stringify({ message, history }))
      return offline.proposeRoute(message, history)
    },
    compose: (request) => {
      prompts.push(JSON.stringify(request))
      return offline.compose(request)
    }
  }
})

const { exporter, layer: tracing } = inMemorySpans()
const layer = testServer({ AGENT_TRACE_CAPTURE_CONTENT: "true" }, { reasoner: recordingReasoner }).pipe(
  Layer.provideMerge(tracing)
)

const chat = (url: string, message: string) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat`, { method: "POST", body: JSON.stringify({ message, session_id: "secrecy" }) }).then(
      (r) => r.json() as Promise<{ reply: string; turn_id: string }>
    )
  )

describe("confirmation codes never leak", () => {
  it.live("stored session, prompts, JSONL, trace endpoint and spans never hold a live code", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const asked = yield* chat(url, "ban 203.0.113.9")
      const code = asked.reply.match(/reply `confirm (\d{6})`/)?.[1]
      expect(code, asked.reply).toMatch(/^\d{6}$/)
      // While the change is pending, the code in other words, and another 6-digit run.
      const chatter = yield* chat(url, `is ${code} the code? or was it 123456 — the code is:${code}!`)
      expect(chatter.reply).not.toContain(code)
      yield* chat(url, "what is my traffic?")
      const confirmed = yield* chat(url, `confirm ${code}`)
      expect(confirmed.reply).toMatch(/blacklisted/)
      const simulator = yield* SafeLineSimulator
      const snapshot = yield* simulator.snapshot
      expect(JSON.stringify(snapshot.ipGroups)).toContain("203.0.113.9")
      yield* chat(url, "what did I just do?")

      const live = code!
      // Prompts: no routed message or history, no compose request holds it.
      expect(prompts.length).toBeGreaterThan(0)
      for (const prompt of prompts) expect(prompt).not.toContain(live)

      // The stored session (memory store here; the Redis store saves the same object).
      const store = yield* SessionStore
      const session = yield* store.get(sessionStoreKey(ANONYMOUS_PRINCIPAL, "secrecy"))
      expect(session?.messages.length).toBeGreaterThanOrEqual(8)
      expect(JSON.stringify(session)).not.toContain(live)
      expect(JSON.stringify(session)).not.toContain("123456")

      // JSONL events (content captured) and the trace endpoint.
      const events = yield* Ref.get(yield* MemoryTraceEvents)
      const captured = events.filter((e) => e.event === "turn.started" && e.session_id === "secrecy")
      expect(captured.length).toBe(5)
      expect(captured.every((e) => typeof e.metadata.message === "string")).toBe(true)
      expect(JSON.stringify(events)).not.toContain(live)
      expect(JSON.stringify(events)).not.toContain("123456")
      for (const turn of ["1", "2", "3", "4", "5"]) {
        const trace = yield* Effect.promise(() =>
          fetch(`${url}/v1/sessions/secrecy/turns/${turn}/trace`).then((r) => r.text())
        )
        expect(trace).toContain("turn.started")
        expect(trace).not.toContain(live)
      }

      // Span attributes (gen_ai.input.messages / output.messages and every other attribute).
      yield* Effect.sleep("100 millis")
      const spans = exporter.getFinishedSpans()
      expect(spans.some((s) => s.attributes["gen_ai.input.messages"] !== undefined)).toBe(true)
      for (const span of spans) expect(JSON.stringify(span.attributes), span.name).not.toContain(live)
    }).pipe(Effect.provide(layer))
  )
})
