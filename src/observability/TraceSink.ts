// Trace events of every step, as JSONL (live) or in memory (tests). Recent turns are also
// indexed in memory so the API and the chat CLI can show a turn's events without reading files.
import { Context, Effect, FiberRef, Layer, Metric, Ref } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Principal } from "../domain/Principal.js"
import { AgentMetrics, withLabels } from "./AgentMetrics.js"
import { currentTurn } from "./Correlation.js"
import { makeSinkWriter } from "./JsonlWriter.js"
import { bounded, TRACE_EVENTS, type TraceEventName } from "./Labels.js"
import { stampEvent, type TraceEvent } from "./TraceEvent.js"

export type { TraceEvent } from "./TraceEvent.js"

export interface TraceSinkService {
  /** Stamps the event with the current correlation ids and appends it; never blocks on I/O. */
  readonly emit: (event: TraceEventName, metadata: Readonly<Record<string, unknown>>) => Effect.Effect<void>
  /** Appends an event that was already stamped (so an audit record and its event are one object). */
  readonly append: (event: TraceEvent) => Effect.Effect<void>
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

/** The principal of the turn the current fiber works for ("" outside a turn). */
const currentPrincipalName = Effect.map(FiberRef.get(currentTurn), (turn) =>
  turn._tag === "Some" ? turn.value.principal.name : ""
)

/** An insertion-ordered index of the last N turns' events, by principal, session and turn. */
const makeRecentTurns = () => {
  const turns = new Map<string, Array<TraceEvent>>()
  return {
    add(principal: string, event: TraceEvent) {
      if (event.session_id === "") return
      const key = turnKey(principal, event.session_id, event.turn_id)
      let list = turns.get(key)
      if (list === undefined) {
        list = []
        turns.set(key, list)
        if (turns.size > RECENT_TURNS) turns.delete(turns.keys().next().value!)
      }
      list.push(event)
    },
    get: (principal: string, sessionId: string, turnId: string): ReadonlyArray<TraceEvent> =>
      turns.get(turnKey(principal, sessionId, turnId)) ?? []
  }
}

/** The records a memory layer kept, for tests to inspect. */
export class MemoryTraceEvents extends Context.Tag("security-agent/MemoryTraceEvents")<
  MemoryTraceEvents,
  Ref.Ref<ReadonlyArray<TraceEvent>>
>() {}

export class TraceSink extends Context.Tag("security-agent/TraceSink")<TraceSink, TraceSinkService>() {
  /** JSONL at AGENT_TRACE_JSONL_PATH; nothing at all when AGENT_OBSERVABILITY_ENABLED=false. */
  static readonly layer = Layer.scoped(
    TraceSink,
    Effect.gen(function* () {
      const config = (yield* AppConfig).observability
      const { metrics, agentSignalsEnabled } = yield* AgentMetrics
      const recent = makeRecentTurns()
      if (!agentSignalsEnabled) {
        return {
          emit: () => Effect.void,
          append: () => Effect.void,
          eventsOfTurn: () => Effect.succeed([]),
          flush: Effect.void
        }
      }
      const writer = yield* makeSinkWriter("jsonl", config.traceJsonlPath)
      const append = (event: TraceEvent) =>
        Effect.flatMap(currentPrincipalName, (principal) =>
          Effect.sync(() => {
            recent.add(principal, event)
            writer.write(event)
          })
        ).pipe(Effect.zipRight(countEvent(metrics, event.event)))
      return {
        emit: (event, metadata) => Effect.flatMap(stampEvent(event, metadata), append),
        append,
        eventsOfTurn: (principal, sessionId, turnId) =>
          Effect.sync(() => recent.get(principal.name, sessionId, turnId)),
        flush: writer.flush
      }
    })
  )

  /** Keeps every event in memory, for tests to inspect through `MemoryTraceEvents`. */
  static readonly memory = Layer.effect(
    TraceSink,
    Effect.gen(function* () {
      const { metrics, agentSignalsEnabled } = yield* AgentMetrics
      const store = yield* MemoryTraceEvents
      const recent = makeRecentTurns()
      const append = (event: TraceEvent) =>
        agentSignalsEnabled
          ? Effect.flatMap(currentPrincipalName, (principal) => {
              recent.add(principal, event)
              return Ref.update(store, (all) => [...all, event])
            }).pipe(Effect.zipRight(countEvent(metrics, event.event)))
          : Effect.void
      return {
        emit: (event, metadata) => Effect.flatMap(stampEvent(event, metadata), append),
        append,
        eventsOfTurn: (principal, sessionId, turnId) =>
          Effect.sync(() => recent.get(principal.name, sessionId, turnId)),
        flush: Effect.void
      }
    })
  ).pipe(Layer.provideMerge(Layer.effect(MemoryTraceEvents, Ref.make<ReadonlyArray<TraceEvent>>([]))))
}

const countEvent = (metrics: AgentMetrics["Type"]["metrics"], event: string) =>
  Metric.increment(withLabels(metrics.traceEventsTotal, { event: bounded(TRACE_EVENTS, event) }))
