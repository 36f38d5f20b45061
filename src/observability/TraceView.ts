// Turns JSONL trace events into something a person reads: one turn as an indented tree with
// timings (`+N ms` = when an event was recorded, from the turn's start). Pure: no I/O here.
import type { TraceEvent } from "./TraceEvent.js"

/** The key that holds one turn's events together: its trace id (or session/turn when untraced). */
export const turnKey = (event: TraceEvent): string =>
  event.trace_id !== "" ? event.trace_id : `${event.session_id}/${event.turn_id}`

export interface TurnEvents {
  readonly traceId: string
  readonly sessionId: string
  readonly turnId: string
  readonly events: ReadonlyArray<TraceEvent>
}

/** Groups events into turns, in the order each turn first appears (latest last). */
export const groupTurns = (events: Iterable<TraceEvent>): ReadonlyArray<TurnEvents> => {
  const turns = new Map<string, Array<TraceEvent>>()
  for (const event of events) {
    const key = turnKey(event)
    const list = turns.get(key)
    if (list === undefined) turns.set(key, [event])
    else list.push(event)
  }
  return [...turns.values()].map((list) => ({
    traceId: list[0]!.trace_id,
    sessionId: list[0]!.session_id,
    turnId: list[0]!.turn_id,
    events: list
  }))
}

/** `41 ms` below a second, `1.24 s` from one second on. */
export const formatDuration = (seconds: number): string =>
  seconds < 0.9995 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`

const text = (value: unknown): string | undefined =>
  typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
      ? String(value)
      : undefined
const number = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined

const MAX_DETAIL = 100
const clip = (value: string) => (value.length <= MAX_DETAIL ? value : `${value.slice(0, MAX_DETAIL - 1)}…`)
const oneLine = (value: string) => clip(value.replace(/\s+/g, " ").trim())

/** What one event says, on one line (without its offset). */
export const describeEvent = (event: TraceEvent): string => {
  const m = event.metadata
  const duration = number(m.duration_seconds)
  const took = duration === undefined ? "" : ` ${formatDuration(duration)}`
  switch (event.event) {
    case "route.selected": {
      const raw = text(m.raw_route)
      const selected = text(m.selected_agent) ?? "?"
      return `route.selected → ${selected}${raw !== undefined && raw !== selected ? ` (raw "${oneLine(raw)}")` : ""}`
    }
    case "route.handoff":
      return `route.handoff ${text(m.from_agent) ?? "?"} → ${text(m.to_agent) ?? "?"}`
    case "tool.call":
      return `tool.call ${text(m.tool) ?? "?"} ${text(m.status) ?? "?"}${took}`
    case "guardrail.decision":
      return `guardrail.decision ${text(m.gate) ?? "?"} ${text(m.decision) ?? "?"} (${text(m.reason) ?? "?"})`
    case "selfrag.decision": {
      const citations = Array.isArray(m.citations) ? m.citations.map(String).join(",") : ""
      return `selfrag.decision attempt ${text(m.attempt) ?? "?"} ${text(m.decision) ?? "?"} (${text(m.reason) ?? "?"}) citations [${citations}]`
    }
    case "llm.call": {
      const tokens =
        m.input_tokens === undefined && m.output_tokens === undefined
          ? ""
          : ` ${text(m.input_tokens) ?? 0}→${text(m.output_tokens) ?? 0} tokens`
      const errorType = text(m.error_type)
      return `llm.call ${text(m.provider) ?? "?"} ${text(m.model) ?? "?"}${took}${tokens}${errorType === undefined ? "" : ` ${errorType}`}`
    }
    case "turn.completed": {
      const status = text(m.status)
      return `turn.completed${took}${status === undefined || status === "ok" ? "" : ` ${status}`}`
    }
    default: {
      const details = Object.entries(m)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ")
      return details === "" ? event.event : `${event.event} ${oneLine(details)}`
    }
  }
}

interface Node {
  readonly event: TraceEvent | undefined
  readonly label: string
  readonly children: Array<Node>
}

/** An event's node; its error message (free text, possibly long) goes on a line of its own below. */
const eventNode = (event: TraceEvent): Node => {
  const error = text(event.metadata.error)
  return {
    event,
    label: describeEvent(event),
    children: error === undefined ? [] : [{ event: undefined, label: `error: ${oneLine(error)}`, children: [] }]
  }
}

/**
 * The agent an event belongs to: `metadata.agent` when it says so; the supervisor for events in
 * the span of its route.* events; else the agent of the latest handoff (nodes run one at a time).
 */
const assignAgents = (events: ReadonlyArray<TraceEvent>): ReadonlyArray<string | undefined> => {
  const supervisorSpans = new Set(
    events.filter((e) => e.event.startsWith("route.") && e.span_id !== "").map((e) => e.span_id)
  )
  let current: string | undefined
  return events.map((event) => {
    if (event.event === "route.handoff") {
      current = text(event.metadata.to_agent)
      return undefined
    }
    if (event.event.startsWith("turn.") || event.event === "route.selected") return undefined
    const own = text(event.metadata.agent)
    if (own !== undefined) return own
    if (supervisorSpans.has(event.span_id)) return undefined
    return current
  })
}

const buildTree = (events: ReadonlyArray<TraceEvent>): Array<Node> => {
  const agents = assignAgents(events)
  const top: Array<Node> = []
  const sections = new Map<string, Node>()
  events.forEach((event, i) => {
    if (event.event === "turn.started" || event.event === "turn.completed") return
    const node = eventNode(event)
    if (event.event === "route.handoff") {
      const to = text(event.metadata.to_agent)
      if (to !== undefined) sections.set(to, node)
      top.push(node)
      return
    }
    const agent = agents[i]
    if (agent === undefined || agent === "supervisor") {
      top.push(node)
      return
    }
    let section = sections.get(agent)
    if (section === undefined) {
      section = { event: undefined, label: `agent ${agent}`, children: [] }
      sections.set(agent, section)
      top.push(section)
    }
    section.children.push(node)
  })
  for (const event of events) {
    if (event.event === "turn.completed") top.push(eventNode(event))
  }
  return top
}

const MAX_LABEL_COLUMN = 80

/**
 * One turn as a tree:
 * ```
 * trace 4bf9…4736  session demo-1  turn 2  (1.24 s)
 * ├─ route.selected → monitor                      +415 ms
 * ├─ route.handoff supervisor → monitor            +418 ms
 * │  └─ tool.call tool_get_traffic_stats ok 41 ms  +423 ms
 * └─ turn.completed 1.24 s
 * ```
 */
export const renderTurnTree = (events: ReadonlyArray<TraceEvent>): string => {
  if (events.length === 0) return "(no trace events)"
  const first = events[0]!
  const started = events.find((e) => e.event === "turn.started") ?? first
  const origin = Date.parse(started.ts)
  const completed = events.find((e) => e.event === "turn.completed")
  const duration = completed === undefined ? undefined : number(completed.metadata.duration_seconds)
  const status = completed === undefined ? undefined : text(completed.metadata.status)
  const summary =
    completed === undefined
      ? "in progress"
      : `${duration === undefined ? "?" : formatDuration(duration)}${status === undefined || status === "ok" ? "" : `, ${status}`}`
  const header = `trace ${first.trace_id || "(none)"}  session ${first.session_id || "?"}  turn ${first.turn_id || "?"}  (${summary})`

  const rows: Array<{ readonly prefix: string; readonly label: string; readonly offset: string }> = []
  const walk = (nodes: ReadonlyArray<Node>, indent: string) =>
    nodes.forEach((node, i) => {
      const last = i === nodes.length - 1
      const at = node.event === undefined ? Number.NaN : Date.parse(node.event.ts) - origin
      const showOffset = node.event !== undefined && node.event.event !== "turn.completed" && Number.isFinite(at)
      rows.push({
        prefix: `${indent}${last ? "└─ " : "├─ "}`,
        label: node.label,
        offset: showOffset ? `+${at} ms` : ""
      })
      walk(node.children, `${indent}${last ? "   " : "│  "}`)
    })
  walk(buildTree(events), "")

  const column = Math.min(
    MAX_LABEL_COLUMN,
    Math.max(0, ...rows.filter((r) => r.offset !== "").map((r) => r.prefix.length + r.label.length))
  )
  const offsetWidth = Math.max(0, ...rows.map((r) => r.offset.length))
  const lines = rows.map(({ prefix, label, offset }) => {
    const left = `${prefix}${label}`
    return offset === "" ? left : `${left.padEnd(column)}  ${offset.padStart(offsetWidth)}`
  })
  return [header, ...lines].join("\n")
}

/** Every turn, latest last, separated by a blank line. */
export const renderTurns = (events: Iterable<TraceEvent>): string =>
  groupTurns(events)
    .map((turn) => renderTurnTree(turn.events))
    .join("\n\n")

export interface TurnSummary {
  readonly traceId: string
  readonly sessionId: string
  readonly turnId: string
  /** The time of the turn's latest event seen. */
  readonly ts: string
}

/** One line per turn, for "which traces are there": `<trace id>  <time>  session s  turn n`. */
export const renderTurnList = (turns: ReadonlyArray<TurnSummary>): string =>
  turns
    .map((t) => `  ${t.traceId || "(none)"}  ${t.ts}  session ${t.sessionId || "?"}  turn ${t.turnId || "?"}`)
    .join("\n")
