// The shape of one JSONL trace event (and audit record), stamped with the correlation ids of
// the current turn and span; content that could leak a confirmation code is redacted here.
import { Context, Effect, FiberRef, Tracer } from "effect"
import { currentTurn } from "./Correlation.js"

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

/** Detection only: the global CONFIRMATION_CODE is stateful under `.test()`. */
const HAS_CONFIRMATION_CODE = new RegExp(CONFIRMATION_CODE.source, "i")

/** True when a value holds something to redact, so the common case costs a walk, not a copy. */
const needsRedaction = (value: unknown, depth: number): boolean => {
  if (typeof value === "string") return HAS_CONFIRMATION_CODE.test(value)
  if (depth > 8 || value === null || typeof value !== "object") return false
  if (Array.isArray(value)) return value.some((v) => needsRedaction(v, depth + 1))
  for (const key in value) {
    if (SECRET_KEYS.test(key) || needsRedaction((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

const redactCopy = (value: unknown, depth: number): unknown => {
  if (typeof value === "string") return value.replace(CONFIRMATION_CODE, "$1[redacted]")
  if (depth > 8 || value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map((v) => redactCopy(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? "[redacted]" : redactCopy(v, depth + 1)
  return out
}

/** Removes confirmation codes and secret-looking fields from anything headed for a log. */
export const redactSecrets = (value: unknown): unknown => (needsRedaction(value, 0) ? redactCopy(value, 0) : value)

/**
 * Stamps an event with the current time, turn and span, read straight from the fiber: this runs
 * for every event, so it is one synchronous step rather than several effects.
 */
export const stampEvent = (event: string, metadata: Readonly<Record<string, unknown>>): Effect.Effect<TraceEvent> =>
  Effect.withFiberRuntime((fiber) => {
    const turn = fiber.getFiberRef(currentTurn)
    const span = Context.getOption(fiber.getFiberRef(FiberRef.currentContext), Tracer.ParentSpan)
    const ownSpan = span._tag === "Some" && span.value._tag === "Span" ? span.value : undefined
    return Effect.succeed({
      ts: new Date().toISOString(),
      event,
      trace_id: ownSpan?.traceId ?? (turn._tag === "Some" ? turn.value.traceId : ""),
      span_id: ownSpan?.spanId ?? "",
      session_id: turn._tag === "Some" ? turn.value.sessionId : "",
      turn_id: turn._tag === "Some" ? turn.value.turnId : "",
      metadata: redactSecrets(metadata) as Record<string, unknown>
    })
  })
