// The one composition root of the live application: every service's live layer, wired once.
import { Layer } from "effect"
import { AppConfig } from "./config/AppConfig.js"
import { AgentMetrics } from "./observability/AgentMetrics.js"
import { AuditLog } from "./observability/AuditLog.js"
import { OtlpTracingLive } from "./observability/Otlp.js"
import { Telemetry } from "./observability/Telemetry.js"
import { TraceSink } from "./observability/TraceSink.js"

/** Metrics, trace sink, audit log and the recorders over them, plus OTLP when configured. */
export const ObservabilityLive = Telemetry.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(TraceSink.layer, AuditLog.layer)),
  Layer.provideMerge(AgentMetrics.layer),
  Layer.merge(OtlpTracingLive)
)

export const ConfigLive = AppConfig.layer
