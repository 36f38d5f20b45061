// 50 concurrent sessions × 20 turns against one server: every reply belongs to its own session
// (session id echoed, turn ids 1..20 in order), the JSONL file holds every event of every turn
// as valid JSON, and the counters equal the calls made.

import { describe, expect, it } from "@effect/vitest"
import { readJsonl } from "../support/jsonl.js"
import { startService } from "./LiveService.js"

const SESSIONS = 50
const TURNS = 20
/** Read-only messages (no WAF change), one per route kind; each session walks them in its own order. */
const MESSAGES = [
  "what is my traffic?",
  "show me recent attacks",
  "what is SQL injection?",
  "how do I configure rate limiting in SafeLine?",
  "hi",
  "what is the protection mode?",
  "which IPs should I worry about?"
]

describe("load: 50 sessions × 20 turns", () => {
  it("no crosstalk, every event on disk once as valid JSON, counters equal to the calls", async () => {
    const service = await startService()
    const replies = new Map<string, Array<any>>()
    try {
      await Promise.all(
        Array.from({ length: SESSIONS }, async (_, s) => {
          const session = `load-${s}`
          const seen: Array<any> = []
          replies.set(session, seen)
          for (let t = 0; t < TURNS; t++) {
            const turn = await service.chat(MESSAGES[(s + t) % MESSAGES.length]!, session)
            expect(turn.status).toBe(200)
            seen.push(turn.body)
          }
        })
      )
      for (const [session, seen] of replies) {
        expect(seen.map((r) => r.session_id)).toEqual(Array(TURNS).fill(session))
        expect(seen.map((r) => r.turn_id)).toEqual(Array.from({ length: TURNS }, (_, i) => String(i + 1)))
      }
      const traceIds = [...replies.values()].flat().map((r) => r.trace_id)
      expect(new Set(traceIds).size).toBe(SESSIONS * TURNS)

      const text = await service.metrics()
      const ns = service.namespace
      const sum = (family: string) =>
        [...text.matchAll(new RegExp(`^${ns}_${family}(?:\\{.*\\})? (\\d+)$`, "gm"))]
          .map((m) => Number(m[1]))
          .reduce((a, b) => a + b, 0)
      expect(sum("chat_requests_total")).toBe(SESSIONS * TURNS)
      expect(sum("agent_turn_latency_seconds_count")).toBe(SESSIONS * TURNS)
      expect(sum("chat_latency_seconds_count")).toBe(SESSIONS * TURNS)
      expect(sum("agent_route_total")).toBe(SESSIONS * TURNS)
      expect(sum("chat_failures_total")).toBe(0)
      expect(sum("chat_rejected_total")).toBe(0)
      const eventsCounted = sum("agent_trace_events_total")
      expect(sum("agent_trace_events_dropped_total")).toBe(0)

      // Closing flushes the writer: afterwards the file holds exactly what was counted.
      await service.close()
      const events = readJsonl(service.tracePath)
      expect(events).toHaveLength(eventsCounted)
      expect(events.filter((e) => e.event === "turn.completed")).toHaveLength(SESSIONS * TURNS)

      // Per turn: one start, one completion, one trace id (the reply's), and the same events for
      // the same route wherever and whenever it ran.
      const byTurn = new Map<string, Array<any>>()
      for (const e of events)
        byTurn.set(`${e.session_id}/${e.turn_id}`, [...(byTurn.get(`${e.session_id}/${e.turn_id}`) ?? []), e])
      expect(byTurn.size).toBe(SESSIONS * TURNS)
      const shapeByRoute = new Map<string, string>()
      for (const [session, seen] of replies) {
        for (const reply of seen) {
          const list = byTurn.get(`${session}/${reply.turn_id}`)!
          expect(new Set(list.map((e) => e.trace_id))).toEqual(new Set([reply.trace_id]))
          expect(list[0].event).toBe("turn.started")
          expect(list.at(-1).event).toBe("turn.completed")
          const shape = list.map((e) => e.event).join(",")
          const known = shapeByRoute.get(reply.route)
          if (known === undefined) shapeByRoute.set(reply.route, shape)
          else expect(shape, reply.route).toBe(known)
        }
      }
      expect(shapeByRoute.size).toBeGreaterThanOrEqual(5)
    } finally {
      await service.close()
    }
  })
})
