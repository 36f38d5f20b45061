// The append-only record of every guardrail decision, kept even when agent observability is
// off: it answers "who approved this change, and when" with the turn's correlation ids.
import { Context, Effect, Layer, Ref } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { AgentMetrics, withLabels } from "./AgentMetrics.js"
import { makeJsonlWriter } from "./JsonlWriter.js"
import type { TraceEvent } from "./TraceEvent.js"

export interface AuditLogService {
  readonly record: (entry: TraceEvent) => Effect.Effect<void>
  readonly flush: Effect.Effect<void>
}

/** The records a memory layer kept, for tests to inspect. */
export class MemoryAuditRecords extends Context.Tag("security-agent/MemoryAuditRecords")<
  MemoryAuditRecords,
  Ref.Ref<ReadonlyArray<TraceEvent>>
>() {}

export class AuditLog extends Context.Tag("security-agent/AuditLog")<AuditLog, AuditLogService>() {
  /** JSONL at GUARDRAIL_AUDIT_PATH; disabled by GUARDRAIL_AUDIT_ENABLED=false. */
  static readonly layer = Layer.scoped(
    AuditLog,
    Effect.gen(function* () {
      const config = (yield* AppConfig).observability
      if (!config.auditEnabled) return { record: () => Effect.void, flush: Effect.void }
      const { metrics } = yield* AgentMetrics
      const dropped = withLabels(metrics.traceEventsDroppedTotal, { sink: "audit" })
      const writer = yield* makeJsonlWriter({
        path: config.auditPath,
        queueSize: config.traceQueueSize,
        maxFileBytes: config.traceMaxFileBytes,
        maxFiles: config.traceMaxFiles,
        onDrop: (count) => dropped.unsafeUpdate(count, [])
      })
      return {
        record: (entry) =>
          Effect.sync(() => {
            writer.write(entry)
          }),
        flush: writer.flush
      }
    })
  )

  static readonly memory = Layer.effect(
    AuditLog,
    Effect.map(MemoryAuditRecords, (store) => ({
      record: (entry: TraceEvent) => Ref.update(store, (all) => [...all, entry]),
      flush: Effect.void
    }))
  ).pipe(Layer.provideMerge(Layer.effect(MemoryAuditRecords, Ref.make<ReadonlyArray<TraceEvent>>([]))))
}
