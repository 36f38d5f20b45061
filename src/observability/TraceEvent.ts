// The shape of one JSONL trace event (and audit record), stamped with the correlation ids of
// the current turn and span; its metadata goes through redactSecrets (Redaction.ts) first.
import { Context, Effect, FiberRef, Tracer } from "effect"
import { currentTurn, type TurnContext } from "./Correlation.js"
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

/** What a recorder reads from its fiber to stamp an event (FiberRuntime's own accessor). */
export interface FiberRefReader {
  readonly getFiberRef: <A>(ref: FiberRef.FiberRef<A>) => A
}

let cachedSecond = Number.NaN
let cachedPrefix = ""

/**
 * `new Date(ms).toISOString()` for the times a service stamps (years 0–9999), with the part up to
 * the second formatted once per second: events are stamped as numbers and formatted when written.
 */
export const formatTimestamp = (ms: number): string => {
  const second = Math.floor(ms / 1000)
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString()
    if (iso.length !== 24) return new Date(ms).toISOString()
    cachedSecond = second
    cachedPrefix = iso.slice(0, 20)
  }
  const millis = ms - second * 1000
  return `${cachedPrefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`
}

/** The correlation ids of the fiber's turn and span: what every event of the fiber carries. */
export interface Correlation {
  readonly turn: TurnContext | undefined
  readonly traceId: string
  readonly spanId: string
}

export const correlationOf = (fiber: FiberRefReader): Correlation => {
  const turnRef = fiber.getFiberRef(currentTurn)
  const turn = turnRef._tag === "Some" ? turnRef.value : undefined
  const span = Context.getOption(fiber.getFiberRef(FiberRef.currentContext), Tracer.ParentSpan)
  const ownSpan = span._tag === "Some" && span.value._tag === "Span" ? span.value : undefined
  return { turn, traceId: ownSpan?.traceId ?? turn?.traceId ?? "", spanId: ownSpan?.spanId ?? "" }
}

/** An event stamped at `ms` with the correlation ids given, its metadata redacted. */
export const makeEvent = (
  ms: number,
  correlation: Correlation,
  event: string,
  metadata: Readonly<Record<string, unknown>>
): TraceEvent => ({
  ts: formatTimestamp(ms),
  event,
  trace_id: correlation.traceId,
  span_id: correlation.spanId,
  session_id: correlation.turn?.sessionId ?? "",
  turn_id: correlation.turn?.turnId ?? "",
  metadata: redactSecrets(metadata) as Record<string, unknown>
})

/** Stamps an event synchronously from a fiber's refs (the recorders' one-step path). */
export const stampEventIn = (
  fiber: FiberRefReader,
  event: string,
  metadata: Readonly<Record<string, unknown>>
): TraceEvent => makeEvent(Date.now(), correlationOf(fiber), event, metadata)

/**
 * Stamps an event with the current time, turn and span, read straight from the fiber: this runs
 * for every event, so it is one synchronous step rather than several effects.
 */
export const stampEvent = (event: string, metadata: Readonly<Record<string, unknown>>): Effect.Effect<TraceEvent> =>
  Effect.withFiberRuntime((fiber) => Effect.succeed(stampEventIn(fiber, event, metadata)))
