// The shape of one JSONL trace event (and audit record), stamped with the correlation ids of
// the current turn and span; content that could leak a confirmation code is redacted here.
import { Clock, Effect, Option } from "effect"
import { getCurrentSpanIds, getTurn } from "./Correlation.js"

export interface TraceEvent {
  readonly ts: string
  readonly event: string
  readonly trace_id: string
  readonly span_id: string
  readonly session_id: string
  readonly turn_id: string
  readonly metadata: Readonly<Record<string, unknown>>
}

const SECRET_KEYS = /^(nonce|code|token|password|secret|api_?key|authorization)$/i
const CONFIRMATION_CODE = /\b(confirm(?:ation)?(?:\s+code)?[\s:]+)\d{6}\b/gi

/** Removes confirmation codes and secret-looking fields from anything headed for a log. */
export const redactSecrets = (value: unknown, depth = 0): unknown => {
  if (typeof value === "string") return value.replace(CONFIRMATION_CODE, "$1[redacted]")
  if (depth > 8 || value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? "[redacted]" : redactSecrets(v, depth + 1)
  return out
}

export const stampEvent = (event: string, metadata: Readonly<Record<string, unknown>>): Effect.Effect<TraceEvent> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const turn = yield* getTurn
    const span = yield* getCurrentSpanIds
    return {
      ts: new Date(now).toISOString(),
      event,
      trace_id: Option.match(span, {
        onSome: (s) => s.traceId,
        onNone: () => Option.match(turn, { onSome: (t) => t.traceId, onNone: () => "" })
      }),
      span_id: Option.match(span, { onSome: (s) => s.spanId, onNone: () => "" }),
      session_id: Option.match(turn, { onSome: (t) => t.sessionId, onNone: () => "" }),
      turn_id: Option.match(turn, { onSome: (t) => t.turnId, onNone: () => "" }),
      metadata: redactSecrets(metadata) as Record<string, unknown>
    }
  })
