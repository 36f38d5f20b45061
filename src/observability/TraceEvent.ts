// The shape of one JSONL trace event (and audit record), stamped with the correlation ids of
// the current turn and span, and its JSONL line; its metadata goes through redactSecrets
// (Redaction.ts) first.
import { Context, Effect, FiberRef, type Option, Tracer } from "effect"
import { currentTurn, type TurnContext } from "./Correlation.js"
import { TRACE_EVENTS } from "./Labels.js"
import type { LineSlabs } from "./LineSlabs.js"
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

const correlationFrom = (turnRef: Option.Option<TurnContext>, context: Context.Context<never>): Correlation => {
  const turn = turnRef._tag === "Some" ? turnRef.value : undefined
  const span = Context.getOption(context, Tracer.ParentSpan)
  const ownSpan = span._tag === "Some" && span.value._tag === "Span" ? span.value : undefined
  return { turn, traceId: ownSpan?.traceId ?? turn?.traceId ?? "", spanId: ownSpan?.spanId ?? "" }
}

export const correlationOf = (fiber: FiberRefReader): Correlation =>
  correlationFrom(fiber.getFiberRef(currentTurn), fiber.getFiberRef(FiberRef.currentContext))

/** A correlation with the JSON text every event stamped with it shares, escaped and encoded once. */
export interface Stamp extends Correlation {
  /** `,"trace_id":…,"span_id":…,"session_id":…,"turn_id":…,"metadata":`, as JSON.stringify writes them, in UTF-8. */
  readonly json: Uint8Array
}

/** The stamp of a correlation. */
export const stampOf = (correlation: Correlation): Stamp => ({
  turn: correlation.turn,
  traceId: correlation.traceId,
  spanId: correlation.spanId,
  json: Buffer.from(
    `,"trace_id":${JSON.stringify(correlation.traceId)},"span_id":${JSON.stringify(correlation.spanId)},"session_id":${JSON.stringify(correlation.turn?.sessionId ?? "")},"turn_id":${JSON.stringify(correlation.turn?.turnId ?? "")},"metadata":`
  )
})

/**
 * Reads a fiber's correlation, reusing the last one while the fiber's turn and context are the
 * same objects (both are immutable, and the events of one span come in runs).
 */
export const makeStamper = (): ((fiber: FiberRefReader) => Stamp) => {
  let lastTurn: unknown
  let lastContext: unknown
  let last: Stamp | undefined
  return (fiber) => {
    const turnRef = fiber.getFiberRef(currentTurn)
    const context = fiber.getFiberRef(FiberRef.currentContext)
    if (last !== undefined && turnRef === lastTurn && context === lastContext) return last
    last = stampOf(correlationFrom(turnRef, context))
    lastTurn = turnRef
    lastContext = context
    return last
  }
}

const TS_OPEN = Buffer.from('{"ts":"')
/** `","event":"<name>"` of each known event name. */
const NAME_JSON = new Map(
  TRACE_EVENTS.map((name) => [name as string, Buffer.from(`","event":${JSON.stringify(name)}`)])
)
const CLOSE = Buffer.from("}")
/** The longest timestamp toISOString writes ("+275760-09-13T00:00:00.000Z"). */
const MAX_TS = 27

/**
 * Appends the event's JSONL line to `slabs`: `JSON.stringify(makeEvent(ms, stamp, event, metadata))`
 * byte for byte, built in place from parts escaped once, so only the metadata is serialised per
 * event. The timestamp holds no character JSON escapes.
 */
export const appendEventLine = (
  slabs: LineSlabs,
  ms: number,
  stamp: Stamp,
  event: string,
  metadata: Readonly<Record<string, unknown>>
): void => {
  const json = JSON.stringify(redactSecrets(metadata))
  // Metadata that serialises to nothing (undefined from an untyped caller) is left out, as JSON.stringify does.
  if (json === undefined || typeof event !== "string") {
    slabs.append(JSON.stringify(makeEvent(ms, stamp, event, metadata)))
    return
  }
  const name = NAME_JSON.get(event) ?? Buffer.from(`","event":${JSON.stringify(event)}`)
  slabs.begin(TS_OPEN.length + MAX_TS + name.length + stamp.json.length + json.length * 3 + CLOSE.length + 1)
  slabs.bytes(TS_OPEN)
  slabs.text(formatTimestamp(ms))
  slabs.bytes(name)
  slabs.bytes(stamp.json)
  slabs.text(json)
  slabs.bytes(CLOSE)
  slabs.finish()
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
