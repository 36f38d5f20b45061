// The append-only record of every guardrail decision, kept even when agent observability is
// off: it answers "who approved this change, and when" with the turn's correlation ids. WAF
// changes themselves go to a separate, synchronous and fsynced file that never loses one.
import { Context, Effect, Layer, Ref } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import {
  ChangeAuditUnavailable,
  makeChangeAuditFile,
  stampChange,
  type WafChangeEntry,
  type WafChangeRecord
} from "./ChangeAudit.js"
import { makeSinkWriter } from "./JsonlWriter.js"
import type { TraceEvent } from "./TraceEvent.js"

export interface AuditLogService {
  /** Guardrail decisions: queued, batched, rotated; dropped (and counted) when the disk fails. */
  readonly record: (entry: TraceEvent) => Effect.Effect<void>
  readonly flush: Effect.Effect<void>
  /**
   * One WAF change record, returning only once it is durable (GUARDRAIL_AUDIT_CHANGES_PATH,
   * fsynced, never rotated); fails when it is not, or when the audit is off.
   */
  readonly recordChange: (entry: WafChangeEntry) => Effect.Effect<void, ChangeAuditUnavailable>
}

/** The records a memory layer kept, for tests to inspect. */
export class MemoryAuditRecords extends Context.Tag("security-agent/MemoryAuditRecords")<
  MemoryAuditRecords,
  Ref.Ref<ReadonlyArray<TraceEvent>>
>() {}

/** The WAF change records a memory layer kept, for tests to inspect. */
export class MemoryChangeRecords extends Context.Tag("security-agent/MemoryChangeRecords")<
  MemoryChangeRecords,
  Ref.Ref<ReadonlyArray<WafChangeRecord>>
>() {}

const auditDisabled = new ChangeAuditUnavailable({
  reason: "disabled",
  message: "the guardrail audit is off (GUARDRAIL_AUDIT_ENABLED=false), so no WAF change can be audited"
})

export class AuditLog extends Context.Tag("security-agent/AuditLog")<AuditLog, AuditLogService>() {
  /**
   * JSONL at GUARDRAIL_AUDIT_PATH, WAF changes at GUARDRAIL_AUDIT_CHANGES_PATH; disabled by
   * GUARDRAIL_AUDIT_ENABLED=false (and then every WAF change record fails).
   */
  static readonly layer = Layer.scoped(
    AuditLog,
    Effect.gen(function* () {
      const config = (yield* AppConfig).observability
      if (!config.auditEnabled) {
        return { record: () => Effect.void, flush: Effect.void, recordChange: () => Effect.fail(auditDisabled) }
      }
      const writer = yield* makeSinkWriter("audit", config.auditPath)
      const changes = yield* makeChangeAuditFile(config.auditChangesPath)
      return {
        record: (entry) =>
          Effect.sync(() => {
            writer.write(entry)
          }),
        flush: writer.flush,
        recordChange: (entry) => Effect.flatMap(stampChange(entry), changes.append)
      }
    })
  )

  /** Guardrail and WAF change records in memory (MemoryAuditRecords, MemoryChangeRecords). */
  static readonly memory = Layer.effect(
    AuditLog,
    Effect.gen(function* () {
      const store = yield* MemoryAuditRecords
      const changes = yield* MemoryChangeRecords
      return {
        record: (entry: TraceEvent) => Ref.update(store, (all) => [...all, entry]),
        flush: Effect.void,
        recordChange: (entry: WafChangeEntry) =>
          Effect.flatMap(stampChange(entry), (record) => Ref.update(changes, (all) => [...all, record]))
      }
    })
  ).pipe(
    Layer.provideMerge(
      Layer.merge(
        Layer.effect(MemoryAuditRecords, Ref.make<ReadonlyArray<TraceEvent>>([])),
        Layer.effect(MemoryChangeRecords, Ref.make<ReadonlyArray<WafChangeRecord>>([]))
      )
    )
  )
}
