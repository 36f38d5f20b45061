// The one composition root: `appLayer` wires every service once, over the choices its callers make
// (where settings come from, which SafeLine, which reasoner, which session store, which sinks).
// `serve` and `chat` use `AppLive` (everything from config), `eval` and the test support their own.
import { Effect, Layer, Logger, LogLevel } from "effect"
import { ConfirmationGuard } from "../agent/ConfirmationGuard.js"
import { Graph } from "../agent/Graph.js"
import { Turn } from "../agent/Turn.js"
import { AppConfig } from "../config/AppConfig.js"
import { KnowledgeBase } from "../knowledge/KnowledgeBase.js"
import type { AgentMetrics } from "../observability/AgentMetrics.js"
import type { AuditLog } from "../observability/AuditLog.js"
import { jsonLogger } from "../observability/JsonLogger.js"
import { OtlpTracingLive } from "../observability/Otlp.js"
import type { Telemetry } from "../observability/Telemetry.js"
import type { TraceSink } from "../observability/TraceSink.js"
import { WafModePollerLive } from "../observability/WafModePoller.js"
import type { Reasoner } from "../reasoning/Reasoner.js"
import { ReasonerLive } from "../reasoning/ReasonerLive.js"
import type { SafeLineClient } from "../safeline/SafeLineClient.js"
import { ChangeHistory } from "../sessions/ChangeHistory.js"
import type { SessionStore } from "../sessions/SessionStore.js"
import { SessionStoreLive } from "../sessions/SessionStoreLive.js"
import { RagSearchTool } from "../tools/RagSearchTool.js"
import { SafeLineTools } from "../tools/SafeLineTools.js"
import { FileSinks, observabilityLayer } from "./ObservabilityLayer.js"
import { ProbesLive } from "./ProbesLive.js"
import { RevertScheduler } from "./RevertScheduler.js"
import { SafeLineClientLive } from "./SafeLineLive.js"

const LOG_LEVELS: Record<string, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

/**
 * Logs go to stderr (stdout stays for command output and the chat) at LOG_LEVEL, as logfmt or,
 * with LOG_FORMAT=json, one JSON object per line with the turn's trace, span, session and turn ids.
 */
export const LoggingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Layer.merge(
      Logger.replace(
        Logger.defaultLogger,
        Logger.withConsoleError(config.observability.logFormat === "json" ? jsonLogger : Logger.logfmtLogger)
      ),
      Logger.minimumLogLevel(LOG_LEVELS[config.observability.logLevel] ?? LogLevel.Info)
    )
  )
)

/** What a caller of `appLayer` chooses; each choice is a layer (the live ones are `AppLive`'s). */
export interface AppChoices<SafeLineOut, SafeLineE, SessionsE, SinksOut, ConfigE> {
  /** Where the settings come from: `AppConfig.layer` (the environment) or `AppConfig.layerWith(vars)`. */
  readonly config: Layer.Layer<AppConfig, ConfigE>
  /** `SafeLineClientLive` (SAFELINE_URL, or the embedded simulator), or `SafeLineClientOf(simulator)`. */
  readonly safeline: Layer.Layer<SafeLineClient | SafeLineOut, SafeLineE, AppConfig>
  /** `ReasonerLive` (LLM_PROVIDER), or a given one (offline, scripted, a fake model). */
  readonly reasoner: Layer.Layer<Reasoner, never, AppConfig | Telemetry>
  /** `SessionStoreLive` (SESSION_STORE), or `MemorySessionStore.layer`. */
  readonly sessions: Layer.Layer<SessionStore, SessionsE, AppConfig | Telemetry>
  /** `FileSinks` or `MemorySinks`. */
  readonly sinks: Layer.Layer<TraceSink | AuditLog | SinksOut, never, AppConfig | AgentMetrics>
}

/**
 * The whole app: Turn (graph, tools, reasoner, sessions) and the readiness probes, over
 * observability (metrics, sinks, OTLP when configured), logging and the settings. Everything a
 * choice layer outputs (a test's simulator, the memory sinks' records) comes out too.
 */
export const appLayer = <SafeLineOut, SafeLineE, SessionsE, SinksOut, ConfigE>(
  choices: AppChoices<SafeLineOut, SafeLineE, SessionsE, SinksOut, ConfigE>
) => {
  const agentServices = Layer.mergeAll(
    SafeLineTools.layerWithHistory,
    RagSearchTool.layer.pipe(Layer.provideMerge(KnowledgeBase.layer)),
    choices.reasoner,
    ConfirmationGuard.layer
  )
  return Layer.mergeAll(Turn.layer, ProbesLive, WafModePollerLive, RevertScheduler.layer).pipe(
    Layer.provideMerge(Layer.mergeAll(Graph.layer, choices.sessions, agentServices)),
    // WAF change state shared by replicas (Redis with SESSION_STORE=redis): restore, journal, timed reverts.
    Layer.provideMerge(ChangeHistory.layer),
    Layer.provideMerge(choices.safeline),
    Layer.provideMerge(Layer.merge(observabilityLayer(choices.sinks), OtlpTracingLive)),
    Layer.provideMerge(LoggingLive),
    Layer.provideMerge(choices.config)
  )
}

/** The live app (`serve`, `chat`): every choice from the environment's settings. */
export const AppLive = appLayer({
  config: AppConfig.layer,
  safeline: SafeLineClientLive,
  reasoner: ReasonerLive,
  sessions: SessionStoreLive,
  sinks: FileSinks
})
