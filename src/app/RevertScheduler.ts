// Runs the reverts of timed WAF changes ("turn protection off for an hour") when they fall due:
// each claimed under a Redis lock with expiry (or this process's), so exactly one replica runs it,
// even across restarts; audited like any change (intent → apply → outcome, principal
// "scheduler", linked to the change it undoes) and counted in waf_scheduled_reverts_total.
import { randomUUID } from "node:crypto"
import { Clock, Context, Duration, Effect, Exit, Layer, Option, Schedule } from "effect"
import type { Principal } from "../domain/Principal.js"
import { AuditLog } from "../observability/AuditLog.js"
import { currentTurn } from "../observability/Correlation.js"
import { Telemetry } from "../observability/Telemetry.js"
import { summarizeMode } from "../safeline/SafeLineOps.js"
import { ChangeHistory, type ClaimedRevert } from "../sessions/ChangeHistory.js"
import { SafeLineTools } from "../tools/SafeLineTools.js"

/** Who applies a scheduled revert, in the change audit and the journal. */
export const SCHEDULER_PRINCIPAL: Principal = { name: "scheduler", role: "operator" }

/** How often due reverts are looked for: a revert runs at most this late. */
export const REVERT_POLL_INTERVAL = Duration.seconds(5)
/** A revert that failed (SafeLine or the audit away) is tried again this much later... */
export const REVERT_RETRY_DELAY = Duration.minutes(1)
/** ...at most this many times; then it is dropped, with an error in the log. */
export const REVERT_MAX_ATTEMPTS = 30
/** Reverts run per poll, so a backlog never holds one poll for long. */
const REVERTS_PER_RUN = 20

export interface RevertRun {
  /** The timed change undone. */
  readonly changeId: string
  /** The revert's own change audit id. */
  readonly revertChangeId: string
  readonly action: "set_mode" | "blacklist_add"
  readonly outcome: "ok" | "skipped" | "error"
  readonly detail: string
}

export interface RevertSchedulerService {
  /** Runs every revert due at `now` (default: the clock) that no other replica holds. */
  readonly runDue: (now?: number) => Effect.Effect<ReadonlyArray<RevertRun>>
}

const make = Effect.gen(function* () {
  const history = yield* ChangeHistory
  const tools = yield* SafeLineTools
  const audit = yield* AuditLog
  const telemetry = yield* Telemetry

  /** Claim → intent record → apply → outcome record → complete (or retry later). */
  const runOne = ({ revert, token }: ClaimedRevert) =>
    Effect.gen(function* () {
      const revertChangeId = randomUUID()
      const entry: { changeId: string; action: string; params: Readonly<Record<string, string>> } =
        revert.action === "set_mode"
          ? {
              changeId: revertChangeId,
              action: "restore_mode",
              params: { revert_of: revert.changeId, mode: summarizeMode(revert.before ?? {}).mode, scheduled: "true" }
            }
          : {
              changeId: revertChangeId,
              action: "unblock_ip",
              params: { revert_of: revert.changeId, target: revert.target ?? "", scheduled: "true" }
            }
      const finish = (outcome: RevertRun["outcome"], detail: string) =>
        Effect.gen(function* () {
          yield* telemetry.recordScheduledRevert(revert.action, outcome)
          if (outcome !== "error") yield* history.completeRevert({ revert, token })
          else if (revert.attempts + 1 >= REVERT_MAX_ATTEMPTS) {
            yield* Effect.logError(
              `scheduled revert of WAF change ${revert.changeId} gave up after ${REVERT_MAX_ATTEMPTS} attempts: ${detail}; undo it by hand`
            )
            yield* history.completeRevert({ revert, token })
          } else {
            const now = yield* Clock.currentTimeMillis
            yield* history.retryRevert({ revert, token }, now + Duration.toMillis(REVERT_RETRY_DELAY))
          }
          return { changeId: revert.changeId, revertChangeId, action: revert.action, outcome, detail } as RevertRun
        })

      const intent = yield* Effect.either(audit.recordChange({ ...entry, phase: "intent" }))
      if (intent._tag === "Left") {
        yield* telemetry.recordChangeAuditFailure("intent")
        yield* Effect.logError(`scheduled revert of ${revert.changeId} not applied: ${intent.left.message}`)
        return yield* finish("error", `the change audit could not be written: ${intent.left.message}`)
      }
      const applied = yield* Effect.exit(tools.applyRevert(revert, revertChangeId))
      const [status, outcome, detail]: readonly ["ok" | "error", RevertRun["outcome"], string] = Exit.isSuccess(applied)
        ? ["ok", applied.value.outcome, applied.value.detail]
        : ["error", "error", Option.match(Exit.causeOption(applied), { onNone: () => "", onSome: String })]
      const result = outcome === "skipped" ? `skipped: ${detail}` : detail
      const written = yield* Effect.either(audit.recordChange({ ...entry, phase: "outcome", status, result }))
      if (written._tag === "Left") {
        yield* telemetry.recordChangeAuditFailure("outcome")
        yield* Effect.logError(`scheduled revert ${revertChangeId} is unaudited: ${written.left.message}`)
      }
      yield* (outcome === "error" ? Effect.logWarning : Effect.logInfo)(
        `scheduled revert of WAF change ${revert.changeId}: ${outcome}: ${detail}`
      )
      return yield* finish(outcome, detail)
    }).pipe(
      // The revert runs as its own "turn" of the scheduler, so its audit records and spans say who acted.
      (body) =>
        Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) =>
          Effect.locally(
            body,
            currentTurn,
            Option.some({
              sessionId: revert.sessionId,
              turnId: "scheduler",
              traceId: span.traceId,
              principal: SCHEDULER_PRINCIPAL
            })
          )
        ),
      Effect.withSpan("waf.scheduled_revert", {
        attributes: { "waf.change_id": revert.changeId, "waf.action": revert.action }
      })
    )

  /** One warning per outage of the store, and one line when it is back. */
  let storeDown = false
  const storeError = (message: string) =>
    storeDown
      ? Effect.void
      : Effect.zipRight(
          Effect.sync(() => {
            storeDown = true
          }),
          Effect.logWarning(`scheduled reverts: ${message}; retrying every ${Duration.format(REVERT_POLL_INTERVAL)}`)
        )

  const runDue = (at?: number): Effect.Effect<ReadonlyArray<RevertRun>> =>
    Effect.gen(function* () {
      const runs: Array<RevertRun> = []
      for (let i = 0; i < REVERTS_PER_RUN; i++) {
        const now = at ?? (yield* Clock.currentTimeMillis)
        const claimed = yield* history.claimDueRevert(now)
        if (Option.isNone(claimed)) break
        runs.push(yield* runOne(claimed.value))
      }
      yield* telemetry.setScheduledRevertsPending(yield* history.pendingReverts)
      if (storeDown) {
        storeDown = false
        yield* Effect.logInfo("scheduled reverts: the change history answers again")
      }
      return runs
    }).pipe(Effect.catchAll((error) => Effect.as(storeError(error.message), [])))

  return { runDue } satisfies RevertSchedulerService
})

export class RevertScheduler extends Context.Tag("security-agent/RevertScheduler")<
  RevertScheduler,
  RevertSchedulerService
>() {
  /** The service, and its poller: a fiber that runs due reverts every few seconds until the app stops. */
  static readonly layer = Layer.scoped(
    RevertScheduler,
    Effect.tap(make, (scheduler) =>
      Effect.forkScoped(Effect.repeat(scheduler.runDue(), Schedule.spaced(REVERT_POLL_INTERVAL)))
    )
  )
}
