// Observability outputs failing: the trace JSONL path unwritable (a directory that is a regular
// file: ENOTDIR) or on a full disk (/dev/full: ENOSPC), and the OTLP collector unreachable.
// Chat keeps working, lost records are counted in /metrics, and span export never holds a turn.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { eventually } from "../support/eventually.js"
import { freePort } from "../support/processes.js"
import { type LiveService, scratchDir, startService } from "./LiveService.js"

const MESSAGES = ["what is my traffic?", "show me recent attacks", "ban 203.0.113.50", "cancel", "hi"]

/** Five turns, all answered 200 with a reply, in one session with gapless turn ids. */
const chatThrough = async (service: LiveService, session: string) => {
  for (const [i, message] of MESSAGES.entries()) {
    const turn = await service.chat(message, session)
    expect(turn.status, message).toBe(200)
    expect(turn.body.turn_id).toBe(String(i + 1))
    expect(turn.body.reply.length).toBeGreaterThan(0)
  }
}

const dropped = (service: LiveService, sink: "jsonl" | "audit") =>
  service.sample("agent_trace_events_dropped_total", { sink }).then((v) => v ?? 0)

describe("observability outputs failing", () => {
  for (const [fault, paths] of [
    [
      "unwritable path (ENOTDIR)",
      () => {
        const file = join(scratchDir(), "a-regular-file")
        writeFileSync(file, "not a directory")
        return { traces: join(file, "traces.jsonl"), audit: join(file, "guardrails.jsonl") }
      }
    ],
    ["full disk (/dev/full, ENOSPC)", () => ({ traces: "/dev/full", audit: "/dev/full" })]
  ] as const) {
    it(`${fault}: chat works, every lost trace event and audit record is counted`, async () => {
      const { traces, audit } = paths()
      const service = await startService({ AGENT_TRACE_JSONL_PATH: traces, GUARDRAIL_AUDIT_PATH: audit })
      try {
        await chatThrough(service, "sink-fault")
        expect((await service.get("/healthz")).status).toBe(200)
        expect((await service.get("/readyz")).status).toBe(200)
        // Every event emitted was either written or dropped; here nothing can be written.
        const text = await service.metrics()
        const emitted = [
          ...text.matchAll(new RegExp(`^${service.namespace}_agent_trace_events_total\\{.*\\} (\\d+)$`, "gm"))
        ]
          .map((m) => Number(m[1]))
          .reduce((a, b) => a + b, 0)
        expect(emitted).toBeGreaterThanOrEqual(MESSAGES.length * 4)
        await eventually(async () => (await dropped(service, "jsonl")) === emitted, {
          what: "every event counted as dropped",
          timeoutMs: 5000
        })
        const guardrailDecisions = [
          ...text.matchAll(new RegExp(`^${service.namespace}_agent_guardrail_total\\{.*\\} (\\d+)$`, "gm"))
        ]
          .map((m) => Number(m[1]))
          .reduce((a, b) => a + b, 0)
        expect(guardrailDecisions).toBeGreaterThanOrEqual(MESSAGES.length)
        await eventually(async () => (await dropped(service, "audit")) === guardrailDecisions, {
          what: "every audit record counted as dropped",
          timeoutMs: 5000
        })
        expect(await service.sample("chat_failures_total")).toBe(0)
        // The in-memory index still serves a turn's trace.
        const trace = await service.get("/v1/sessions/sink-fault/turns/1/trace")
        expect(trace.body.events.map((e: any) => e.event)).toContain("turn.completed")
      } finally {
        await service.close()
      }
    })
  }

  it("OTLP collector unreachable: turns stay fast, nothing fails, shutdown is bounded", async () => {
    const closedPort = await freePort()
    const service = await startService({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}` })
    const latencies: Array<number> = []
    try {
      for (let round = 0; round < 4; round++) {
        for (const [i, message] of MESSAGES.entries()) {
          const turn = await service.chat(message, `otlp-${round}`)
          expect(turn.status).toBe(200)
          expect(turn.body.turn_id).toBe(String(i + 1))
          latencies.push(turn.ms)
        }
      }
      // Export is batched off the request path; an export holding a turn would take its 5 s timeout.
      latencies.sort((a, b) => a - b)
      expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(500)
      expect(latencies.at(-1)).toBeLessThan(3000)
      const ready = await service.get("/readyz")
      expect(ready.status).toBe(200)
      expect(ready.body.dependencies.otlp.ok).toBe(false)
      expect(await service.sample("dependency_up", { dependency: "otlp" })).toBe(0)
      expect((await service.get("/healthz")).status).toBe(200)
    } finally {
      const closing = performance.now()
      await service.close()
      // The exporter gives up within its own timeouts instead of hanging the shutdown.
      expect(performance.now() - closing).toBeLessThan(15_000)
    }
  })
})
