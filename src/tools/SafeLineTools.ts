// The tools the agent nodes call: each SafeLine operation (and the threat lookup) under its
// CONTRACT.md name, recorded as a tool call (metric + trace event) inside an `execute_tool` span.
import { Clock, Context, Effect, Layer, Option, Ref } from "effect"
import type { AgentName } from "../domain/Agents.js"
import type { ToolName } from "../domain/Tools.js"
import { getTurn } from "../observability/Correlation.js"
import { Telemetry } from "../observability/Telemetry.js"
import type { SafeLineClient } from "../safeline/SafeLineClient.js"
import { SafeLineError, type SafeLineFailure } from "../safeline/SafeLineError.js"
import {
  type AttackQuery,
  type AttackSummary,
  type BlacklistChange,
  type ModeChange,
  type ProtectionModeInfo,
  type SafeLineOperationError,
  SafeLineOps,
  type SystemInfo,
  type TrafficStats,
  type UserMode
} from "../safeline/SafeLineOps.js"
import { instrumentToolCall } from "./InstrumentToolCall.js"
import { type KevLookup, ThreatCatalog, type ThreatInfo } from "./ThreatCatalog.js"
import { ToolError, type ToolErrorType } from "./ToolError.js"

export type {
  AttackEventView,
  AttackQuery,
  AttackSummary,
  BlacklistChange,
  DetectionRecordView,
  ModeChange,
  ProtectionModeInfo,
  SystemInfo,
  TrafficStats,
  UserMode
} from "../safeline/SafeLineOps.js"
export type { KevEntry, KevLookup, ThreatInfo } from "./ThreatCatalog.js"

/** One WAF change applied through the tools. */
export interface AppliedChange {
  readonly at: number
  readonly principal: string
  readonly sessionId: string
  readonly action: "set_mode" | "blacklist_add" | "blacklist_remove"
  /** Mode changes: the user-facing modes before and after. */
  readonly modeBefore?: string | undefined
  readonly modeAfter?: string | undefined
  /** Blacklist changes: the address or range. */
  readonly target?: string | undefined
  /** False when SafeLine already was in the requested state. */
  readonly changed: boolean
}
export { ToolError } from "./ToolError.js"

export interface SafeLineToolsService {
  /** tool_get_traffic_stats: traffic now, and SafeLine's counters over `range` (default the last 24 h). */
  readonly getTrafficStats: (
    agent: AgentName,
    range?: { readonly startMs: number; readonly endMs: number }
  ) => Effect.Effect<TrafficStats, ToolError>
  /** tool_get_attack_events */
  readonly getAttackEvents: (agent: AgentName, query?: AttackQuery) => Effect.Effect<AttackSummary, ToolError>
  /** tool_get_system_info */
  readonly getSystemInfo: (agent: AgentName) => Effect.Effect<SystemInfo, ToolError>
  /** tool_get_protection_mode */
  readonly getProtectionMode: (agent: AgentName) => Effect.Effect<ProtectionModeInfo, ToolError>
  /** tool_set_protection_mode */
  readonly setProtectionMode: (agent: AgentName, mode: UserMode) => Effect.Effect<ModeChange, ToolError>
  /**
   * tool_set_protection_mode: back to the module map before the last change this process made
   * (a restore is a change too, so a second restore undoes the first); fails with errorType
   * "not_found" when nothing was changed yet.
   */
  readonly restoreProtectionMode: (agent: AgentName) => Effect.Effect<ModeChange, ToolError>
  /**
   * tool_manage_ip_blacklist. `comment` is recorded on the span only: SafeLine IP groups keep no
   * per-address comments, and the group's own comment is how the agent finds its blocklist.
   */
  readonly manageIpBlacklist: (
    agent: AgentName,
    operation: "add" | "remove",
    target: string,
    comment?: string
  ) => Effect.Effect<BlacklistChange, ToolError>
  /** tool_cve_lookup: by CVE id, CWE id, attack_type number or name, or free text. */
  readonly cveLookup: (agent: AgentName, query: string) => Effect.Effect<ReadonlyArray<ThreatInfo>, ToolError>
  /** tool_cve_lookup for one CVE id: its CISA KEV entry (or its absence, with the catalog version). */
  readonly kevLookup: (agent: AgentName, cveId: string) => Effect.Effect<KevLookup, ToolError>
  /**
   * The WAF changes applied through this process (mode changes, blacklist changes), oldest
   * first, with when, by whom and in which session: what a report lists as "actions taken" and
   * how it tells which mode was in force when.
   */
  readonly changeJournal: Effect.Effect<ReadonlyArray<AppliedChange>>
  /**
   * Whether the SafeLine answering is the simulator (it says so in its version) or a real one;
   * "unknown" until SafeLine has answered once. No metrics or span: it is asked on every turn.
   */
  readonly dataOrigin: Effect.Effect<"simulator" | "safeline" | "unknown">
  /** No metrics or span: the readiness probe's dependency check. */
  readonly ping: Effect.Effect<{ readonly version: string; readonly simulated: boolean }, ToolError>
}

const SAFELINE_ERROR_TYPES: Readonly<Record<SafeLineFailure, ToolErrorType>> = {
  auth: "safeline_auth",
  timeout: "safeline_timeout",
  unreachable: "safeline_unreachable",
  tls: "safeline_tls",
  http_error: "safeline_http_error",
  envelope_error: "safeline_envelope_error",
  invalid_response: "invalid_response",
  not_found: "not_found"
}

const OPERATION_ERROR_TYPES: Readonly<Record<SafeLineOperationError["reason"], ToolErrorType>> = {
  nothing_to_restore: "not_found",
  invalid_target: "invalid_target",
  truncated_group: "invalid_response"
}

/** A SafeLine or operation failure as the tool error the caller sees. */
export const toToolError =
  (tool: ToolName) =>
  (error: SafeLineError | SafeLineOperationError): ToolError =>
    new ToolError({
      tool,
      message: error.message,
      errorType:
        error instanceof SafeLineError ? SAFELINE_ERROR_TYPES[error.reason] : OPERATION_ERROR_TYPES[error.reason],
      cause: error
    })

const make = Effect.gen(function* () {
  const telemetry = yield* Telemetry
  const ops = yield* SafeLineOps
  const catalog = yield* ThreatCatalog
  /** The origin once SafeLine has told it: it does not change under a running process. */
  const origin = yield* Ref.make(Option.none<"simulator" | "safeline">())
  const journal = yield* Ref.make<ReadonlyArray<AppliedChange>>([])
  /** Records an applied change with the turn's principal and session. */
  const remember = (change: Omit<AppliedChange, "at" | "principal" | "sessionId">) =>
    Effect.gen(function* () {
      const at = yield* Clock.currentTimeMillis
      const turn = yield* getTurn
      const entry: AppliedChange = {
        ...change,
        at,
        principal: Option.match(turn, { onNone: () => "unknown", onSome: (t) => t.principal.name }),
        sessionId: Option.match(turn, { onNone: () => "", onSome: (t) => t.sessionId })
      }
      // Bounded: a long-running process keeps the latest changes only.
      yield* Ref.update(journal, (all) => [...all.slice(-499), entry])
    })
  const modeChanged = (change: ModeChange) =>
    remember({
      action: "set_mode",
      modeBefore: change.previous.mode,
      modeAfter: change.current.mode,
      changed: change.previous.mode !== change.current.mode
    })

  /** Runs one tool call in its span and records it, whatever the outcome. */
  const instrument =
    (agent: AgentName, tool: ToolName, attributes: Record<string, unknown> = {}) =>
    <A>(call: Effect.Effect<A, SafeLineError | SafeLineOperationError>): Effect.Effect<A, ToolError> =>
      instrumentToolCall(telemetry, agent, tool, attributes)(Effect.mapError(call, toToolError(tool)))

  const service: SafeLineToolsService = {
    getTrafficStats: (agent, range) =>
      instrument(agent, "tool_get_traffic_stats")(range === undefined ? ops.trafficStats : ops.trafficStatsOver(range)),
    getAttackEvents: (agent, query = {}) =>
      instrument(agent, "tool_get_attack_events", {
        ...(query.ip === undefined ? {} : { "safeline.query.ip": query.ip }),
        ...(query.limit === undefined ? {} : { "safeline.query.limit": query.limit }),
        ...(query.window === undefined
          ? {}
          : {
              "safeline.query.start": new Date(query.window.startMs).toISOString(),
              "safeline.query.end": new Date(query.window.endMs).toISOString()
            })
      })(ops.attackSummary(query)),
    getSystemInfo: (agent) => instrument(agent, "tool_get_system_info")(ops.systemInfo),
    getProtectionMode: (agent) => instrument(agent, "tool_get_protection_mode")(ops.protectionMode),
    setProtectionMode: (agent, mode) =>
      instrument(agent, "tool_set_protection_mode", { "safeline.mode": mode })(
        Effect.tap(ops.setProtectionMode(mode), modeChanged)
      ),
    restoreProtectionMode: (agent) =>
      instrument(agent, "tool_set_protection_mode", { "safeline.mode": "previous" })(
        Effect.tap(ops.restoreProtectionMode, modeChanged)
      ),
    manageIpBlacklist: (agent, operation, target, comment) =>
      instrument(agent, "tool_manage_ip_blacklist", {
        "safeline.blacklist.operation": operation,
        "safeline.blacklist.target": target.slice(0, 64),
        ...(comment === undefined ? {} : { "safeline.blacklist.comment": comment.slice(0, 200) })
      })(
        Effect.tap(operation === "add" ? ops.blacklistAdd(target) : ops.blacklistRemove(target), (change) =>
          remember({
            action: operation === "add" ? "blacklist_add" : "blacklist_remove",
            target: change.target,
            changed: change.changed
          })
        )
      ),
    cveLookup: (agent, query) =>
      instrument(agent, "tool_cve_lookup", { "threat.query": query.slice(0, 100) })(
        Effect.sync(() => catalog.lookup(query))
      ),
    kevLookup: (agent, cveId) =>
      instrument(agent, "tool_cve_lookup", { "threat.query": cveId.slice(0, 100) })(
        Effect.sync(() => catalog.kev(cveId))
      ),
    changeJournal: Ref.get(journal),
    dataOrigin: Effect.flatMap(Ref.get(origin), (known) =>
      Option.isSome(known)
        ? Effect.succeed(known.value)
        : ops.systemInfo.pipe(
            Effect.map((s) => (s.simulated ? ("simulator" as const) : ("safeline" as const))),
            Effect.tap((found) => Ref.set(origin, Option.some(found))),
            Effect.orElseSucceed(() => "unknown" as const)
          )
    ),
    ping: Effect.map(ops.systemInfo, (s) => ({ version: s.version, simulated: s.simulated })).pipe(
      Effect.mapError(toToolError("tool_get_system_info"))
    )
  }
  return service
})

export class SafeLineTools extends Context.Tag("security-agent/SafeLineTools")<SafeLineTools, SafeLineToolsService>() {
  /** The tools over a SafeLine client (the operations and the bundled threat data included). */
  static readonly layer: Layer.Layer<SafeLineTools, never, Telemetry | SafeLineClient> = Layer.effect(
    SafeLineTools,
    make
  ).pipe(Layer.provide(Layer.merge(SafeLineOps.layer, ThreatCatalog.layer)))
}
