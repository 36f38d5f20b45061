// The shape of one JSONL trace event (and audit record), stamped with the correlation ids of
// the current turn and span; its metadata goes through redactSecrets (Redaction.ts) first.
import { Context, Effect, FiberRef, Tracer } from "effect"
import { currentTurn } from "./Correlation.js"
import { redactSecrets } from "./Redaction.js"

/** Re-exported for the modules that redact span content and audit records alongside events. */
export { redactSecrets }

export interface TraceEvent {
  readonly ts: string
  readonly event: string
  readonly trace_id: string
  readonly span_id: string
  readonly session_id: string
  readonly turn_id: string
  readonly metadata: Readonly<Record<string, unknown>>
}

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
