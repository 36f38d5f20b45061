// Trace events of every step, as JSONL (live) or in memory (tests). Recent turns are also
// indexed in memory so the API and the chat CLI can show a turn's events without reading files.
import { Context, Effect, Layer, type Metric, Ref } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Principal } from "../domain/Principal.js"
import { AgentMetrics, type MetricSet, withLabels } from "./AgentMetrics.js"
import type { TurnContext } from "./Correlation.js"
import { makeSinkWriter } from "./JsonlWriter.js"
import { TRACE_EVENTS, type TraceEventName } from "./Labels.js"
import { type Correlation, correlationOf, type FiberRefReader, makeEvent, type TraceEvent } from "./TraceEvent.js"

export type { TraceEvent } from "./TraceEvent.js"

export interface TraceSinkService {
  /** Stamps the event with the current correlation ids and appends it; never blocks on I/O. */
  readonly emit: (event: TraceEventName, metadata: Readonly<Record<string, unknown>>) => Effect.Effect<void>
  /** Appends an event that was already stamped (so an audit record and its event are one object). */
  readonly append: (event: TraceEvent) => Effect.Effect<void>
  /**
   * `emit` as one synchronous step inside a recorder that already runs on the fiber (the
   * correlation ids are read from `fiber`); the caller stays inside its own single effect.
   */
  readonly unsafeEmit: (
    fiber: FiberRefReader,
    event: TraceEventName,
    metadata: Readonly<Record<string, unknown>>
  ) => void
  /** `append` as one synchronous step, for a recorder running on `fiber`. */
  readonly unsafeAppend: (fiber: FiberRefReader, event: TraceEvent) => void
  /**
   * The events of one turn of one principal's session, from the in-memory index of recent turns:
   * another principal's session of the same id is not theirs to read.
   */
  readonly eventsOfTurn: (
    principal: Principal,
    sessionId: string,
    turnId: string
  ) => Effect.Effect<ReadonlyArray<TraceEvent>>
  /** Waits until every event emitted so far has been written. */
  readonly flush: Effect.Effect<void>
}

const RECENT_TURNS = 2000

const turnKey = (principal: string, sessionId: string, turnId: string) =>
  `${principal}\u0000${sessionId}\u0000${turnId}`

/**
 * An insertion-ordered index of the last N turns' events, by principal, session and turn. It
 * keeps each event as its JSON line (one flat string, which the collector never has to trace
 * through) and finds a turn's list through the turn's context object, so an event costs one
 * WeakMap lookup and a push; the key string is built once per turn.
 */
const makeRecentTurns = () => {
  const turns = new Map<string, Array<string>>()
  const byContext = new WeakMap<TurnContext, Array<string>>()
  const listOf = (turn: TurnContext, sessionId: string, turnId: string) => {
    let list = byContext.get(turn)
    if (list === undefined) {
      const key = turnKey(turn.principal.name, sessionId, turnId)
      list = turns.get(key)
      if (list === undefined) {
        list = []
        turns.set(key, list)
        if (turns.size > RECENT_TURNS) turns.delete(turns.keys().next().value!)
      }
      byContext.set(turn, list)
    }
    return list
  }
  return {
    /** Indexes the line of an event stamped inside `turn` (events outside a turn are not indexed). */
    add(turn: TurnContext | undefined, event: TraceEvent, line: string) {
      if (turn === undefined || event.session_id === "") return
      // An event stamped for another turn than the fiber's own (not made by the recorders) is
      // indexed under its own ids.
      if (event.session_id !== turn.sessionId || event.turn_id !== turn.turnId) {
        const key = turnKey(turn.principal.name, event.session_id, event.turn_id)
        let list = turns.get(key)
        if (list === undefined) {
          list = []
          turns.set(key, list)
          if (turns.size > RECENT_TURNS) turns.delete(turns.keys().next().value!)
        }
        list.push(line)
        return
      }
      listOf(turn, event.session_id, event.turn_id).push(line)
    },
    get: (principal: string, sessionId: string, turnId: string): ReadonlyArray<TraceEvent> =>
      (turns.get(turnKey(principal, sessionId, turnId)) ?? []).map((line) => JSON.parse(line) as TraceEvent)
  }
}

/** The trace-event counter of each event name, tagged once. */
const eventCounters = (metrics: MetricSet) => {
  const byName = new Map<string, Metric.Metric.Counter<number>>()
  for (const event of [...TRACE_EVENTS, "other"]) byName.set(event, withLabels(metrics.traceEventsTotal, { event }))
  const other = byName.get("other")!
  return (event: string) => (byName.get(event) ?? other).unsafeUpdate(1, [])
}

/** The records a memory layer kept, for tests to inspect. */
export class MemoryTraceEvents extends Context.Tag("security-agent/MemoryTraceEvents")<
  MemoryTraceEvents,
  Ref.Ref<ReadonlyArray<TraceEvent>>
>() {}

/** The service over one synchronous `accept` of a stamped event (the sinks differ only in it). */
const serviceOver = (
  accept: (correlation: TurnContext | undefined, event: TraceEvent) => void,
  flush: Effect.Effect<void>,
  recent: ReturnType<typeof makeRecentTurns>
): TraceSinkService => {
  const unsafeEmit = (fiber: FiberRefReader, event: TraceEventName, metadata: Readonly<Record<string, unknown>>) => {
    const correlation: Correlation = correlationOf(fiber)
    accept(correlation.turn, makeEvent(Date.now(), correlation, event, metadata))
  }
  const unsafeAppend = (fiber: FiberRefReader, event: TraceEvent) => accept(correlationOf(fiber).turn, event)
  return {
    emit: (event, metadata) =>
      Effect.withFiberRuntime((fiber) => {
        unsafeEmit(fiber, event, metadata)
        return Effect.void
      }),
    append: (event) =>
      Effect.withFiberRuntime((fiber) => {
        unsafeAppend(fiber, event)
        return Effect.void
      }),
    unsafeEmit,
    unsafeAppend,
    eventsOfTurn: (principal, sessionId, turnId) => Effect.sync(() => recent.get(principal.name, sessionId, turnId)),
    flush
  }
}

const disabled: TraceSinkService = {
  emit: () => Effect.void,
  append: () => Effect.void,
  unsafeEmit: () => undefined,
  unsafeAppend: () => undefined,
  eventsOfTurn: () => Effect.succeed([]),
  flush: Effect.void
}

export class TraceSink extends Context.Tag("security-agent/TraceSink")<TraceSink, TraceSinkService>() {
  /** JSONL at AGENT_TRACE_JSONL_PATH; nothing at all when AGENT_OBSERVABILITY_ENABLED=false. */
  static readonly layer = Layer.scoped(
    TraceSink,
    Effect.gen(function* () {
      const config = (yield* AppConfig).observability
      const { metrics, agentSignalsEnabled } = yield* AgentMetrics
      if (!agentSignalsEnabled) return disabled
      const recent = makeRecentTurns()
      const count = eventCounters(metrics)
      const writer = yield* makeSinkWriter("jsonl", config.traceJsonlPath)
      return serviceOver(
        (turn, event) => {
          // Serialised once: the same line goes to the file and to the recent-turns index.
          const line = JSON.stringify(event)
          recent.add(turn, event, line)
          writer.writeLine(line)
          count(event.event)
        },
        writer.flush,
        recent
      )
    })
  )

  /** Keeps every event in memory, for tests to inspect through `MemoryTraceEvents`. */
  static readonly memory = Layer.effect(
    TraceSink,
    Effect.gen(function* () {
      const { metrics, agentSignalsEnabled } = yield* AgentMetrics
      const store = yield* MemoryTraceEvents
      if (!agentSignalsEnabled) return disabled
      const recent = makeRecentTurns()
      const count = eventCounters(metrics)
      return serviceOver(
        (turn, event) => {
          recent.add(turn, event, JSON.stringify(event))
          Effect.runSync(Ref.update(store, (all) => [...all, event]))
          count(event.event)
        },
        Effect.void,
        recent
      )
    })
  ).pipe(Layer.provideMerge(Layer.effect(MemoryTraceEvents, Ref.make<ReadonlyArray<TraceEvent>>([]))))
}
