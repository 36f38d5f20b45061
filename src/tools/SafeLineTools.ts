// The tools the agent nodes call: each SafeLine operation (and the threat lookup) under its
// CONTRACT.md name, recorded as a tool call (metric + trace event) inside an `execute_tool` span.
// WAF changes go into the deployment's ChangeHistory (journal; a timed change's revert).
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
  type RestorePlan,
  type SafeLineOperationError,
  SafeLineOps,
  type SystemInfo,
  type TrafficStats,
  type UserMode
} from "../safeline/SafeLineOps.js"
import { type AppliedChange, ChangeHistory, type ScheduledRevert } from "../sessions/ChangeHistory.js"
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
  RestorePlan,
  SystemInfo,
  TrafficStats,
  UserMode
} from "../safeline/SafeLineOps.js"
export type { AppliedChange, ScheduledRevert } from "../sessions/ChangeHistory.js"
export type { KevEntry, KevLookup, ThreatInfo } from "./ThreatCatalog.js"

/** A change applied after its audited intent: its audit id, and for a timed change when to undo it. */
export interface ChangeTiming {
  readonly changeId: string
  /** Undo the change this long after it is applied (ms); absent: the change has no end. */
  readonly revertAfterMillis?: number | undefined
}

/**
 * What became of a timed change's revert: stored with the change; not needed (the change changed
 * nothing, so there is nothing to undo); or not stored, so the change has no end.
 */
export type RevertSchedule =
  | { readonly scheduled: true; readonly at: number }
  | { readonly scheduled: false; readonly nothingChanged: boolean; readonly reason: string }

/** How a due revert ended: applied, or skipped because the state it undoes is gone. */
export interface RevertResult {
  readonly outcome: "ok" | "skipped"
  readonly detail: string
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
  readonly setProtectionMode: (
    agent: AgentName,
    mode: UserMode,
    timing?: ChangeTiming
  ) => Effect.Effect<ModeChange & { readonly revert?: RevertSchedule }, ToolError>
  /**
   * tool_set_protection_mode: back to the module map before the last recorded change, on any
   * replica (a restore is a change too, so a second restore undoes the first); fails with
   * errorType "not_found" when nothing was changed yet, "other" when the mode changed since.
   */
  readonly restoreProtectionMode: (agent: AgentName) => Effect.Effect<ModeChange, ToolError>
  /** tool_get_protection_mode: whether a restore would run now, without changing anything. */
  readonly restorePlan: (agent: AgentName) => Effect.Effect<RestorePlan, ToolError>
  /**
   * A due revert of a timed change (the scheduler's): the mode back only if the timed change's
   * map is still in force, or the one blocklist entry removed. Journaled like any change.
   */
  readonly applyRevert: (revert: ScheduledRevert, changeId: string) => Effect.Effect<RevertResult, ToolError>
  /**
   * tool_manage_ip_blacklist. `comment` is recorded on the span only: SafeLine IP groups keep no
   * per-address comments, and the group's own comment is how the agent finds its blocklist.
   */
  readonly manageIpBlacklist: (
    agent: AgentName,
    operation: "add" | "remove",
    target: string,
    comment?: string,
    timing?: ChangeTiming
  ) => Effect.Effect<BlacklistChange & { readonly revert?: RevertSchedule }, ToolError>
  /** tool_cve_lookup: by CVE id, CWE id, attack_type number or name, or free text. */
  readonly cveLookup: (agent: AgentName, query: string) => Effect.Effect<ReadonlyArray<ThreatInfo>, ToolError>
  /** tool_cve_lookup for one CVE id: its CISA KEV entry (or its absence, with the catalog version). */
  readonly kevLookup: (agent: AgentName, cveId: string) => Effect.Effect<KevLookup, ToolError>
  /**
   * The WAF changes applied through the agent on any replica (mode changes, blacklist changes),
   * oldest first, with when, by whom and in which session: what a report lists as "actions
   * taken" and how it tells which mode was in force when. Empty (and logged) when unreadable.
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
  mode_changed: "other",
  history_unavailable: "other",
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
  const history = yield* ChangeHistory
  /** Records an applied change with the turn's principal and session; a lost entry is logged, the change stands. */
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
      yield* history
        .appendJournal(entry)
        .pipe(Effect.catchAll((error) => Effect.logWarning(`WAF change not journaled: ${error.message}`)))
    })
  const modeChanged = (change: ModeChange, extra: Partial<AppliedChange> = {}) =>
    remember({
      action: "set_mode",
      modeBefore: change.previous.mode,
      modeAfter: change.current.mode,
      changed: change.previous.mode !== change.current.mode,
      ...extra
    })

  /** Stores the revert of a timed change; the reply says plainly when the change has no end. */
  const scheduleRevert = (
    timing: ChangeTiming | undefined,
    build: (dueAt: number, common: Omit<ScheduledRevert, "action" | "before" | "after" | "target">) => ScheduledRevert,
    changed: boolean,
    unchangedReason: string
  ): Effect.Effect<RevertSchedule | undefined> =>
    Effect.gen(function* () {
      if (timing?.revertAfterMillis === undefined) return undefined
      if (!changed) return { scheduled: false, nothingChanged: true, reason: unchangedReason } as const
      const now = yield* Clock.currentTimeMillis
      const turn = yield* getTurn
      const dueAt = now + timing.revertAfterMillis
      const revert = build(dueAt, {
        changeId: timing.changeId,
        dueAt,
        createdAt: now,
        principal: Option.match(turn, { onNone: () => "unknown", onSome: (t) => t.principal.name }),
        sessionId: Option.match(turn, { onNone: () => "", onSome: (t) => t.sessionId }),
        attempts: 0
      })
      return yield* history.scheduleRevert(revert).pipe(
        Effect.as<RevertSchedule>({ scheduled: true, at: dueAt }),
        Effect.catchAll((error) =>
          Effect.as(Effect.logError(`timed WAF change ${timing.changeId} has no end: ${error.message}`), {
            scheduled: false,
            nothingChanged: false,
            reason: `its revert could not be stored (${error.message})`
          } as const)
        )
      )
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
    setProtectionMode: (agent, mode, timing) =>
      instrument(agent, "tool_set_protection_mode", { "safeline.mode": mode })(
        Effect.gen(function* () {
          const change = yield* ops.setProtectionMode(mode)
          const revert = yield* scheduleRevert(
            timing,
            (_, common) => ({
              ...common,
              action: "set_mode",
              before: change.previous.modules,
              after: change.current.modules
            }),
            change.previous.mode !== change.current.mode,
            `the mode already was ${change.current.mode}, so there is nothing to revert`
          )
          yield* modeChanged(change, {
            changeId: timing?.changeId,
            revertAt: revert?.scheduled === true ? revert.at : undefined
          })
          return revert === undefined ? change : { ...change, revert }
        })
      ),
    restoreProtectionMode: (agent) =>
      instrument(agent, "tool_set_protection_mode", { "safeline.mode": "previous" })(
        Effect.tap(ops.restoreProtectionMode, (change) => modeChanged(change))
      ),
    restorePlan: (agent) => instrument(agent, "tool_get_protection_mode")(ops.restorePlan),
    applyRevert: (revert, changeId) =>
      revert.action === "set_mode"
        ? instrument("config_manager", "tool_set_protection_mode", { "safeline.mode": "scheduled_revert" })(
            ops.revertProtectionMode(revert.after ?? {}, revert.before ?? {}).pipe(
              Effect.tap((change) => modeChanged(change, { changeId, revertOf: revert.changeId })),
              Effect.map(
                (change): RevertResult => ({
                  outcome: "ok",
                  detail: `protection mode back to ${change.current.mode} (was ${change.previous.mode})`
                })
              ),
              Effect.catchIf(
                (error) => error._tag === "SafeLineOperationError" && error.reason === "mode_changed",
                (error) => Effect.succeed<RevertResult>({ outcome: "skipped", detail: error.message })
              )
            )
          )
        : instrument("config_manager", "tool_manage_ip_blacklist", {
            "safeline.blacklist.operation": "remove",
            "safeline.blacklist.target": (revert.target ?? "").slice(0, 64)
          })(
            ops.blacklistRemove(revert.target ?? "").pipe(
              Effect.tap((change) =>
                remember({
                  action: "blacklist_remove",
                  target: change.target,
                  changed: change.changed,
                  changeId,
                  revertOf: revert.changeId
                })
              ),
              Effect.map(
                (change): RevertResult =>
                  change.changed
                    ? { outcome: "ok", detail: `${change.target} removed from the blocklist` }
                    : { outcome: "skipped", detail: `${change.target} was no longer in the blocklist` }
              )
            )
          ),
    manageIpBlacklist: (agent, operation, target, comment, timing) =>
      instrument(agent, "tool_manage_ip_blacklist", {
        "safeline.blacklist.operation": operation,
        "safeline.blacklist.target": target.slice(0, 64),
        ...(comment === undefined ? {} : { "safeline.blacklist.comment": comment.slice(0, 200) })
      })(
        Effect.gen(function* () {
          const change = yield* operation === "add" ? ops.blacklistAdd(target) : ops.blacklistRemove(target)
          // Only a ban is timed; an entry that was there before stays when the time is up.
          const revert =
            operation === "add"
              ? yield* scheduleRevert(
                  timing,
                  (_, common) => ({ ...common, action: "blacklist_add", target: change.target }),
                  change.changed,
                  `${change.target} already was blacklisted, so it stays blacklisted`
                )
              : undefined
          yield* remember({
            action: operation === "add" ? "blacklist_add" : "blacklist_remove",
            target: change.target,
            changed: change.changed,
            changeId: timing?.changeId,
            revertAt: revert?.scheduled === true ? revert.at : undefined
          })
          return revert === undefined ? change : { ...change, revert }
        })
      ),
    cveLookup: (agent, query) =>
      instrument(agent, "tool_cve_lookup", { "threat.query": query.slice(0, 100) })(
        Effect.sync(() => catalog.lookup(query))
      ),
    kevLookup: (agent, cveId) =>
      instrument(agent, "tool_cve_lookup", { "threat.query": cveId.slice(0, 100) })(
        Effect.sync(() => catalog.kev(cveId))
      ),
    changeJournal: history.journal.pipe(
      Effect.catchAll((error) =>
        Effect.as(Effect.logWarning(`the WAF change journal is unavailable: ${error.message}`), [])
      )
    ),
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
  /** The tools over a SafeLine client and the deployment's ChangeHistory (the app's). */
  static readonly layerWithHistory: Layer.Layer<SafeLineTools, never, Telemetry | SafeLineClient | ChangeHistory> =
    Layer.effect(SafeLineTools, make).pipe(
      Layer.provide(Layer.merge(SafeLineOps.layerWithHistory, ThreatCatalog.layer))
    )
  /** The tools with a change history of their own, in this process only (tests, standalone use). */
  static readonly layer: Layer.Layer<SafeLineTools, never, Telemetry | SafeLineClient> =
    SafeLineTools.layerWithHistory.pipe(Layer.provide(ChangeHistory.memory))
}
