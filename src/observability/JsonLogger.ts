// LOG_FORMAT=json: one JSON object per line, for log pipelines (Loki, Elasticsearch, Cloud
// Logging). Inside a turn each line carries trace_id, span_id, session_id and turn_id, so a log
// line leads to its trace and its JSONL events; logfmt stays the format for terminals.
import { Cause, Context, FiberRef, FiberRefs, HashMap, List, Logger, Option, Tracer } from "effect"
import { currentTurn } from "./Correlation.js"

const messageText = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts.map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join(" ")
}

/** A JSON-safe value: Errors become their message, bigints strings, cycles a marker. */
const safe = (value: unknown): unknown => {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  if (typeof value === "bigint") return value.toString()
  return value
}

export const jsonLogger = Logger.make<unknown, string>(
  ({ annotations, cause, context, date, logLevel, message, spans }) => {
    const line: Record<string, unknown> = {
      timestamp: date.toISOString(),
      level: logLevel.label,
      message: messageText(message)
    }
    if (!Cause.isEmpty(cause)) line.cause = Cause.pretty(cause, { renderErrorCause: true })
    const span = Context.getOption(FiberRefs.getOrDefault(context, FiberRef.currentContext), Tracer.ParentSpan)
    if (Option.isSome(span)) {
      line.trace_id = span.value.traceId
      line.span_id = span.value.spanId
    }
    const turn = FiberRefs.getOrDefault(context, currentTurn)
    if (Option.isSome(turn)) {
      line.session_id = turn.value.sessionId
      line.turn_id = turn.value.turnId
    }
    const now = date.getTime()
    for (const logSpan of List.toArray(spans)) line[`${logSpan.label}_ms`] = now - logSpan.startTime
    for (const [key, value] of HashMap.toEntries(annotations)) {
      if (!(key in line)) line[key] = safe(value)
    }
    try {
      return JSON.stringify(line, (_key, value) => safe(value))
    } catch {
      return JSON.stringify({ timestamp: line.timestamp, level: line.level, message: line.message })
    }
  }
)
