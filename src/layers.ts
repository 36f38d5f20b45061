// The one composition root of the live application: every service's live layer, wired once.
import { Effect, Layer, Logger, LogLevel } from "effect"
import { ConfirmationGuard } from "./agent/ConfirmationGuard.js"
import { Graph } from "./agent/Graph.js"
import { Turn } from "./agent/Turn.js"
import { AppConfig } from "./config/AppConfig.js"
import { KnowledgeBase } from "./knowledge/KnowledgeBase.js"
import { AgentMetrics } from "./observability/AgentMetrics.js"
import { AuditLog } from "./observability/AuditLog.js"
import { OtlpTracingLive } from "./observability/Otlp.js"
import { ProbesLive } from "./observability/ProbesLive.js"
import { Telemetry } from "./observability/Telemetry.js"
import { TraceSink } from "./observability/TraceSink.js"
import { ReasonerLive } from "./reasoning/ReasonerLive.js"
import { SessionStoreLive } from "./sessions/SessionStoreLive.js"
import { RagSearchTool } from "./tools/RagSearchTool.js"
import { SafeLineToolsLive } from "./tools/SafeLineLive.js"

export const ConfigLive = AppConfig.layer

const LOG_LEVELS: Record<string, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

/** Logs go to stderr (stdout stays for command output and the chat) at LOG_LEVEL. */
export const LoggingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Layer.merge(
      Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
      Logger.minimumLogLevel(LOG_LEVELS[config.observability.logLevel] ?? LogLevel.Info)
    )
  )
)

/** Metrics, trace sink, audit log and the recorders over them, plus OTLP when configured. */
export const ObservabilityLive = Telemetry.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(TraceSink.layer, AuditLog.layer)),
  Layer.provideMerge(AgentMetrics.layer),
  Layer.merge(OtlpTracingLive)
)

/** The tools and the thinking the graph's nodes use, and the guard of confirmation codes. */
const AgentServicesLive = Layer.mergeAll(
  SafeLineToolsLive,
  RagSearchTool.layer.pipe(Layer.provideMerge(KnowledgeBase.layer)),
  ReasonerLive,
  ConfirmationGuard.layer
)

/** Turn (graph + sessions) and the readiness probes over everything, on top of observability and config. */
export const AppLive = Layer.mergeAll(Turn.layer, ProbesLive).pipe(
  Layer.provideMerge(Layer.mergeAll(Graph.layer, SessionStoreLive, AgentServicesLive)),
  Layer.provideMerge(ObservabilityLive),
  Layer.provideMerge(LoggingLive),
  Layer.provideMerge(ConfigLive)
)
