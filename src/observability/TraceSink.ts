// Trace events of every step, as JSONL (live) or in memory (tests). Recent turns are also
// indexed in memory so the API and the chat CLI can show a turn's events without reading files.
import { Context, Effect, Layer, type Metric, Ref } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Principal } from "../domain/Principal.js"
import { AgentMetrics, type MetricSet, withLabels } from "./AgentMetrics.js"
import type { TurnContext } from "./Correlation.js"
import { makeSinkWriter } from "./JsonlWriter.js"
import { TRACE_EVENTS, type TraceEventName } from "./Labels.js"
import { LineSlabs, parseLine } from "./LineSlabs.js"
import {
  appendEventLine,
  type FiberRefReader,
  makeEvent,
  makeStamper,
  type Stamp,
  type TraceEvent
} from "./TraceEvent.js"

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
 * An insertion-ordered index of the last N turns' events, by principal, session and turn. Each
 * event is kept as the place of its JSON line in the sink's slabs (a slab, a start, an end: three
 * slots of a flat list, nothing for the collector to copy), and a turn's list is found through the
 * turn's context object, last one first, so an event costs a comparison and a push; the key string
 * is built once per turn.
 */
const makeRecentTurns = () => {
  const turns = new Map<string, Array<Buffer | number>>()
  // The keys in insertion order, oldest at `oldest`: the next one to forget, found without walking
  // the map (whose iteration skips every entry deleted before it).
  const order: Array<string | undefined> = new Array(RECENT_TURNS)
  let oldest = 0
  const byContext = new WeakMap<TurnContext, Array<Buffer | number>>()
  let lastTurn: TurnContext | undefined
  let lastList: Array<Buffer | number> = []
  const listAt = (key: string) => {
    let list = turns.get(key)
    if (list === undefined) {
      list = []
      const forgotten = order[oldest]
      if (forgotten !== undefined) turns.delete(forgotten)
      turns.set(key, list)
      order[oldest] = key
      oldest = (oldest + 1) % RECENT_TURNS
    }
    return list
  }
  const listOf = (turn: TurnContext) => {
    if (turn === lastTurn) return lastList
    let list = byContext.get(turn)
    if (list === undefined) {
      list = listAt(turnKey(turn.principal.name, turn.sessionId, turn.turnId))
      byContext.set(turn, list)
    }
    lastTurn = turn
    lastList = list
    return list
  }
  return {
    /** Indexes the line at `slab[start, end)`, an event of `sessionId`/`turnId` stamped inside `turn`. */
    add(turn: TurnContext | undefined, sessionId: string, turnId: string, slab: Buffer, start: number, end: number) {
      if (turn === undefined || sessionId === "") return
      // An event stamped for another turn than the fiber's own (not made by the recorders) is
      // indexed under its own ids.
      const list =
        sessionId === turn.sessionId && turnId === turn.turnId
          ? listOf(turn)
          : listAt(turnKey(turn.principal.name, sessionId, turnId))
      list.push(slab, start, end)
    },
    get: (principal: string, sessionId: string, turnId: string): ReadonlyArray<TraceEvent> => {
      const list = turns.get(turnKey(principal, sessionId, turnId)) ?? []
      const events: Array<TraceEvent> = []
      for (let i = 0; i < list.length; i += 3) {
        events.push(parseLine(list[i] as Buffer, list[i + 1] as number, list[i + 2] as number) as TraceEvent)
      }
      return events
    }
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

/**
 * The service over two synchronous steps (the sinks differ only in them): `record` an event to
 * stamp with `stamp`, and `accept` one already stamped.
 */
const serviceOver = (
  record: (stamp: Stamp, event: TraceEventName, metadata: Readonly<Record<string, unknown>>) => void,
  accept: (turn: TurnContext | undefined, event: TraceEvent) => void,
  flush: Effect.Effect<void>,
  recent: ReturnType<typeof makeRecentTurns>
): TraceSinkService => {
  const stampIn = makeStamper()
  const unsafeEmit = (fiber: FiberRefReader, event: TraceEventName, metadata: Readonly<Record<string, unknown>>) =>
    record(stampIn(fiber), event, metadata)
  const unsafeAppend = (fiber: FiberRefReader, event: TraceEvent) => accept(stampIn(fiber).turn, event)
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
      // Serialised and encoded once: the same bytes go to the file and to the recent-turns index.
      const slabs = new LineSlabs()
      return serviceOver(
        (stamp, event, metadata) => {
          appendEventLine(slabs, Date.now(), stamp, event, metadata)
          const turn = stamp.turn
          if (turn !== undefined) recent.add(turn, turn.sessionId, turn.turnId, slabs.slab, slabs.start, slabs.end)
          writer.writeRange(slabs.slab, slabs.start, slabs.end)
          count(event)
        },
        (turn, event) => {
          slabs.append(JSON.stringify(event))
          recent.add(turn, event.session_id, event.turn_id, slabs.slab, slabs.start, slabs.end)
          writer.writeRange(slabs.slab, slabs.start, slabs.end)
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
      const slabs = new LineSlabs()
      const accept = (turn: TurnContext | undefined, event: TraceEvent) => {
        slabs.append(JSON.stringify(event))
        recent.add(turn, event.session_id, event.turn_id, slabs.slab, slabs.start, slabs.end)
        Effect.runSync(Ref.update(store, (all) => [...all, event]))
        count(event.event)
      }
      return serviceOver(
        (stamp, event, metadata) => accept(stamp.turn, makeEvent(Date.now(), stamp, event, metadata)),
        accept,
        Effect.void,
        recent
      )
    })
  ).pipe(Layer.provideMerge(Layer.effect(MemoryTraceEvents, Ref.make<ReadonlyArray<TraceEvent>>([]))))
}
