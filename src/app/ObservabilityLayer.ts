// The observability part of the app's recipe: the Telemetry recorders over the metrics and a
// choice of sinks (JSONL files, or memory for tests); apart so tests of observability alone load it.
import { Layer } from "effect"
import type { AppConfig } from "../config/AppConfig.js"
import { AgentMetrics } from "../observability/AgentMetrics.js"
import { AuditLog } from "../observability/AuditLog.js"
import { Telemetry } from "../observability/Telemetry.js"
import { TraceSink } from "../observability/TraceSink.js"

/** Trace events and guardrail records as JSONL files (AGENT_TRACE_JSONL_PATH, GUARDRAIL_AUDIT_PATH). */
export const FileSinks = Layer.mergeAll(TraceSink.layer, AuditLog.layer)

/** Trace events and guardrail records in memory, for tests (MemoryTraceEvents, MemoryAuditRecords, MemoryChangeRecords). */
export const MemorySinks = Layer.mergeAll(TraceSink.memory, AuditLog.memory)

/** The recorders (Telemetry) over the metrics and the given sinks. */
export const observabilityLayer = <SinksOut, E>(
  sinks: Layer.Layer<TraceSink | AuditLog | SinksOut, E, AppConfig | AgentMetrics>
) => Telemetry.layer.pipe(Layer.provideMerge(sinks), Layer.provideMerge(AgentMetrics.layer))
