// config_manager: protection mode and IP blacklist changes. Only operators may change the WAF;
// every change is validated before any tool runs, waits for a 6-digit confirmation code from the
// same principal and session, and is applied only once its intent is durably audited; every
// decision on the way is a guardrail record (metric + event + audit).
import { randomUUID } from "node:crypto"
import { isIP } from "node:net"
import { Cause, Clock, Effect, Either, Exit, Option } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import type { GuardrailDecision, GuardrailGate, GuardrailReason } from "../../domain/Outcomes.js"
import { roleAllows } from "../../domain/Principal.js"
import { AuditLog } from "../../observability/AuditLog.js"
import type { WafChangeEntry } from "../../observability/ChangeAudit.js"
import { getTurn } from "../../observability/Correlation.js"
import { Telemetry } from "../../observability/Telemetry.js"
import type { PendingAction } from "../../sessions/Session.js"
import { type RevertSchedule, SafeLineTools } from "../../tools/SafeLineTools.js"
import { type ConfigIntent, describeDuration, parseConfigIntent, type UserMode } from "../ConfigIntent.js"
import { type CodeThrottle, ConfirmationGuard } from "../ConfirmationGuard.js"
import { withDataSourceLine } from "../DataSource.js"
import { refersToEarlierTarget, targetFromEarlierStep } from "../EarlierStepTarget.js"
import type { TurnState, TurnUpdate } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"
import { validateTarget } from "../TargetValidation.js"

const MODE_EFFECT: Record<UserMode, string> = {
  block: "every detection module set to default (blocks attacks)",
  strict: "every detection module set to strict (high-strength blocking)",
  detect: "every detection module set to dry_run (attacks are logged, not blocked)",
  off: "every detection module disabled (no detection at all)"
}

type ChangeIntent = Extract<ConfigIntent, { kind: "set_mode" | "restore_mode" | "blacklist_ip" | "unblock_ip" }>

const done = (reply: string, pendingAction: PendingAction | null, failed = false): TurnUpdate => ({
  reply,
  pendingAction,
  sources: [],
  failed
})

const forHowLong = (seconds: number): string =>
  seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} second${seconds === 1 ? "" : "s"}`

const throttledReply = (principal: string, throttle: CodeThrottle, summary: string): string =>
  `Too many wrong confirmation codes from ${principal} (${throttle.failures} recently): confirmations are refused for the next ${forHowLong(throttle.retryAfterSeconds)}. The pending change (${summary}) is cancelled and nothing was changed; ask for it again after that.`

/** "14:05:09 UTC": when a pending change expires, in the one time zone every operator shares. */
const clockTime = (epochMillis: number): string => `${new Date(epochMillis).toISOString().slice(11, 19)} UTC`

/** When a timed change reverts: the time, with the date when it is not within the next day. */
const revertTime = (at: number, now: number): string =>
  at - now < 20 * 3600_000
    ? `${clockTime(at).replace(/:\d\d UTC$/, "")} UTC`
    : `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`

/** The reply's line about a timed change: when it reverts, or plainly that it has no end. */
const revertLine = (revert: RevertSchedule | undefined, what: string, now: number): string =>
  revert === undefined
    ? ""
    : revert.scheduled
      ? ` It reverts ${what} at ${revertTime(revert.at, now)} (scheduled; the revert is audited, and skipped if someone changes it again first).`
      : revert.nothingChanged
        ? ` No revert is scheduled: ${revert.reason}.`
        : ` This change has no end: ${revert.reason}. Undo it yourself when the time is up.`

/** "for 1 hour (reverted automatically, at about 14:05 UTC if confirmed now)" */
const timedSuffix = (durationMillis: number | undefined, now: number): string =>
  durationMillis === undefined
    ? ""
    : ` for ${describeDuration(durationMillis)} (reverted automatically, at about ${revertTime(now + durationMillis, now)} if confirmed now)`

const AUDIT_OFF =
  "WAF changes are refused while the guardrail audit is off (GUARDRAIL_AUDIT_ENABLED=false), since every change must leave an audit record"

/** The SafeLine host may never be blacklisted: its literal address, when the URL has one. */
const safeLineAddresses = (url: Option.Option<string>): Array<string> =>
  Option.match(url, {
    onNone: () => [],
    onSome: (u) => {
      try {
        const host = new URL(u).hostname.replace(/^\[|\]$/g, "")
        return isIP(host) === 0 ? [] : [host]
      } catch {
        return []
      }
    }
  })

export const configManagerNode = (state: TurnState) =>
  instrumentNode(
    "config_manager",
    Effect.gen(function* () {
      const config = yield* AppConfig
      const telemetry = yield* Telemetry
      const tools = yield* SafeLineTools
      const audit = yield* AuditLog
      const confirmation = yield* ConfirmationGuard
      const now = yield* Clock.currentTimeMillis
      const principal = Option.map(yield* getTurn, (turn) => turn.principal)
      const principalName = Option.match(principal, { onNone: () => "this caller", onSome: (p) => p.name })
      const isOperator = Option.exists(principal, (p) => roleAllows(p.role, "operator"))
      const binding = {
        principal: Option.match(principal, { onNone: () => "", onSome: (p) => p.name }),
        sessionId: state.sessionId
      }
      const guard = (
        gate: GuardrailGate,
        decision: GuardrailDecision,
        reason: GuardrailReason,
        metadata?: Record<string, unknown>
      ) =>
        telemetry.recordGuardrail(
          metadata === undefined ? { gate, decision, reason } : { gate, decision, reason, metadata }
        )
      // "ban the worst one" after a step that found the top source: that address, said where from.
      const earlier = state.results.length === 0 ? undefined : targetFromEarlierStep(state.message, state.results)
      const intent = parseConfigIntent(earlier?.request ?? state.message)
      const stored = state.pendingAction
      const active = stored !== null && now <= stored.expiresAt ? stored : null

      const execute = (pending: PendingAction, changeId: string) =>
        Effect.gen(function* () {
          const p = pending.params
          // A timed change: its revert is stored with it, under the change's audit id.
          const timing = {
            changeId,
            revertAfterMillis: p.duration_seconds === undefined ? undefined : Number(p.duration_seconds) * 1000
          }
          switch (pending.action) {
            case "set_mode": {
              const change = yield* tools.setProtectionMode("config_manager", p.mode as UserMode, timing)
              return `Protection mode is now ${change.current.mode} (was ${change.previous.mode}): ${MODE_EFFECT[p.mode as UserMode]}.${change.revert === undefined ? ` Say "restore the previous mode" to undo.` : revertLine(change.revert, `to ${change.previous.mode}`, now)}`
            }
            case "restore_mode": {
              const change = yield* tools.restoreProtectionMode("config_manager")
              return `Restored the previous protection mode: now ${change.current.mode} (was ${change.previous.mode}).`
            }
            case "blacklist_ip": {
              const change = yield* tools.manageIpBlacklist(
                "config_manager",
                "add",
                p.target!,
                p.comment || undefined,
                timing
              )
              return change.changed
                ? `${change.target} is blacklisted: added to IP group #${change.groupId} (security-agent blocklist), enforced by deny policy #${change.policyId}.${revertLine(change.revert, "(the entry is removed)", now)}`
                : `${change.target} was already blacklisted (IP group #${change.groupId}, deny policy #${change.policyId}); nothing changed.${revertLine(change.revert, "", now)}`
            }
            case "unblock_ip": {
              const change = yield* tools.manageIpBlacklist("config_manager", "remove", p.target!)
              return change.changed
                ? `${change.target} is no longer blacklisted: removed from IP group #${change.groupId}.`
                : `${change.target} was not in the blocklist; nothing changed.`
            }
          }
        })

      /**
       * Applies a confirmed change between two durable audit records: no intent record, no change
       * (fail closed); a lost outcome record is reported, since the change already happened.
       */
      const applyAudited = (pending: PendingAction) =>
        Effect.gen(function* () {
          const action = { action: pending.action }
          if (!config.observability.auditEnabled) {
            yield* guard("change_audit", "deny", "audit_disabled", action)
            return done(
              `Nothing was changed (${pending.summary}): ${AUDIT_OFF}. Ask an administrator to turn it back on, then ask for the change again.`,
              null
            )
          }
          const entry = { changeId: randomUUID(), action: pending.action, params: pending.params }
          const intentWritten = yield* Effect.either(audit.recordChange({ ...entry, phase: "intent" }))
          if (Either.isLeft(intentWritten)) {
            const error = intentWritten.left
            yield* telemetry.recordChangeAuditFailure("intent")
            yield* guard("change_audit", "deny", error.reason === "disabled" ? "audit_disabled" : "audit_unavailable", {
              ...action,
              error: error.message
            })
            yield* Effect.logError(`WAF change refused, nothing applied: ${error.message}`)
            return done(
              `Nothing was changed (${pending.summary}): the WAF change audit could not be written, and no change is applied without its audit record. Ask an administrator to check GUARDRAIL_AUDIT_CHANGES_PATH (disk space, permissions), then ask for the change again.`,
              null,
              true
            )
          }
          yield* guard("change_audit", "allow", "audited", { ...action, change_id: entry.changeId })

          const writeOutcome = (outcome: Pick<WafChangeEntry, "status" | "result">) =>
            Effect.either(audit.recordChange({ ...entry, phase: "outcome", ...outcome }))
          const outcomeLost = (message: string) =>
            Effect.all([
              telemetry.recordChangeAuditFailure("outcome"),
              guard("change_audit", "deny", "outcome_unaudited", {
                ...action,
                change_id: entry.changeId,
                error: message
              }),
              Effect.logError(`WAF change ${entry.changeId} (${pending.action}) is unaudited: ${message}`)
            ])

          const applied = yield* Effect.exit(execute(pending, entry.changeId)).pipe(
            Effect.onInterrupt(() =>
              writeOutcome({
                status: "error",
                result: "interrupted before SafeLine answered: the change may or may not be applied"
              }).pipe(
                Effect.flatMap(Either.match({ onLeft: (e) => outcomeLost(e.message), onRight: () => Effect.void }))
              )
            )
          )
          if (Exit.isFailure(applied) && Option.isNone(Cause.failureOption(applied.cause))) {
            // A defect: the outcome is unknown, but the attempt is on record before the turn fails.
            yield* writeOutcome({
              status: "error",
              result: "failed unexpectedly: the change may or may not be applied"
            }).pipe(Effect.flatMap(Either.match({ onLeft: (e) => outcomeLost(e.message), onRight: () => Effect.void })))
            return yield* Effect.failCause(applied.cause)
          }
          let reply: string
          let failed: boolean
          if (Exit.isSuccess(applied)) {
            reply = applied.value
            failed = false
            yield* guard("post_tool_result", "allow", "tool_ok", action)
          } else {
            const error = Option.getOrThrow(Cause.failureOption(applied.cause))
            reply = `SafeLine did not apply the change (${pending.summary}): ${error.message}`
            failed = true
            yield* guard("post_tool_result", "deny", "tool_error", {
              ...action,
              error_type: error.errorType,
              error: error.message
            })
          }
          const outcomeWritten = yield* writeOutcome(
            Exit.isSuccess(applied) ? { status: "ok", result: reply } : { status: "error", result: reply }
          )
          if (Either.isLeft(outcomeWritten)) {
            yield* outcomeLost(outcomeWritten.left.message)
            reply = Exit.isSuccess(applied)
              ? `${reply} Warning: the change was applied but is unaudited: its outcome could not be written to the WAF change audit. Tell an administrator (GUARDRAIL_AUDIT_CHANGES_PATH).`
              : `${reply} Its outcome could not be written to the WAF change audit either, so this attempt is unaudited; tell an administrator (GUARDRAIL_AUDIT_CHANGES_PATH).`
          }
          return done(yield* withDataSourceLine(reply), null, failed)
        })

      switch (intent.kind) {
        case "confirm": {
          if (!isOperator) {
            yield* guard("authorization", "deny", "insufficient_role", {
              action: stored?.action ?? "confirm",
              required_role: "operator"
            })
            return done(
              `Confirming a WAF change needs the operator role, and ${principalName} is not an operator: nothing was changed${stored === null ? "" : ` and the pending change (${stored.summary}) is cancelled`}.`,
              null
            )
          }
          if (stored === null) {
            yield* guard("action_confirmation", "deny", "no_pending_action")
            return done("There is no pending change to confirm in this session. Ask for the change first.", null)
          }
          const action = { action: stored.action }
          yield* guard("authorization", "allow", "role_ok", action)
          const throttled = yield* confirmation.throttle(binding.principal)
          if (Option.isSome(throttled)) {
            yield* guard("action_confirmation", "deny", "code_throttled", {
              ...action,
              failures: throttled.value.failures,
              retry_after_seconds: throttled.value.retryAfterSeconds
            })
            return done(throttledReply(principalName, throttled.value, stored.summary), null)
          }
          const check = yield* confirmation.check({
            binding,
            pending: stored,
            code: intent.code,
            now,
            maxAttempts: config.guardrails.confirmationMaxAttempts
          })
          // Every wrong code counts against the principal, whichever change it was meant for.
          const nowThrottled =
            check.result === "nonce_mismatch" || check.result === "too_many_attempts"
              ? yield* telemetry.recordConfirmationCodeFailure.pipe(
                  Effect.zipRight(confirmation.recordWrongCode(binding.principal))
                )
              : Option.none<CodeThrottle>()
          switch (check.result) {
            case "expired":
              yield* guard("action_confirmation", "deny", "expired", action)
              return done(
                `That confirmation expired, so nothing was changed (${stored.summary}). Ask again for a new code.`,
                null
              )
            case "too_many_attempts":
              yield* guard("action_confirmation", "deny", "too_many_attempts", action)
              return done(
                `Too many wrong codes: the pending change (${stored.summary}) is cancelled and nothing was changed.${Option.match(
                  nowThrottled,
                  {
                    onNone: () => "",
                    onSome: (t) =>
                      ` Confirmations from ${principalName} are refused for the next ${forHowLong(t.retryAfterSeconds)}.`
                  }
                )}`,
                null
              )
            case "nonce_mismatch": {
              const left = config.guardrails.confirmationMaxAttempts - check.pending.failedAttempts
              yield* guard("action_confirmation", "deny", "nonce_mismatch", { ...action, attempts_left: left })
              if (Option.isSome(nowThrottled)) {
                yield* guard("action_confirmation", "deny", "code_throttled", {
                  ...action,
                  failures: nowThrottled.value.failures,
                  retry_after_seconds: nowThrottled.value.retryAfterSeconds
                })
                return done(
                  `That code does not match. ${throttledReply(principalName, nowThrottled.value, stored.summary)}`,
                  null
                )
              }
              return done(
                `That code does not match. ${left} attempt${left === 1 ? "" : "s"} left before the change is cancelled.`,
                check.pending
              )
            }
            case "nonce_match": {
              yield* guard("action_confirmation", "allow", "nonce_match", action)
              return yield* applyAudited(stored)
            }
          }
          break
        }
        case "cancel": {
          if (stored === null) {
            yield* guard("action_confirmation", "deny", "no_pending_action")
            return done("There is nothing to cancel.", null)
          }
          yield* guard("action_confirmation", "deny", "user_cancelled", { action: stored.action })
          return done(`Cancelled: ${stored.summary}. Nothing was changed.`, null)
        }
        case "assent": {
          if (active === null) {
            yield* guard("action_confirmation", "deny", stored === null ? "no_pending_action" : "expired")
            return done(
              stored === null
                ? "There is no pending change to confirm in this session. Ask for the change first."
                : `The pending change (${stored.summary}) expired at ${clockTime(stored.expiresAt)}, so nothing was changed. Ask for it again for a new code.`,
              null
            )
          }
          yield* guard("action_confirmation", "deny", "code_missing", { action: active.action })
          return done(
            `A change is waiting for its confirmation code: ${active.summary}. It expires at ${clockTime(active.expiresAt)} (${forHowLong(Math.max(0, Math.ceil((active.expiresAt - now) / 1000)))} from now). Nothing is applied without the code: reply \`confirm\` followed by the 6-digit code from my earlier reply, or \`cancel\`.`,
            active
          )
        }
        case "none": {
          if (refersToEarlierTarget(state.message)) {
            return done(
              `I can't tell which address "${state.message.slice(0, 80)}" means: no earlier step of this turn found a source address to act on, and I never take a target from free text. Name the address ("ban 203.0.113.7"), or ask "who attacked us most in the last hour? ban the worst one".`,
              stored
            )
          }
          const mode = yield* tools.getProtectionMode("config_manager")
          return done(
            yield* withDataSourceLine(
              `The protection mode is ${mode.mode}. I can change it ("switch to block mode", "detect mode", "strict mode", "turn protection off", "restore the previous mode") or manage the IP blacklist ("ban 203.0.113.7", "unblock 203.0.113.7"); every change asks for a confirmation code.`
            ),
            stored
          )
        }
        case "invalid_duration": {
          yield* guard("pre_tool_validation", "deny", "invalid_duration", { requested: intent.requested })
          return done(
            `I won't make that change as asked ("${intent.requested}"): ${intent.detail}. Nothing was changed and no confirmation code was issued.`,
            stored
          )
        }
        case "invalid_mode": {
          yield* guard("pre_tool_validation", "deny", "invalid_mode", { requested: intent.requested })
          return done(`"${intent.requested}" is not a protection mode. Choose block, strict, detect or off.`, stored)
        }
        default: {
          if (!isOperator) {
            yield* guard("authorization", "deny", "insufficient_role", {
              action: intent.kind,
              required_role: "operator"
            })
            return done(
              `Changing the WAF needs the operator role, and ${principalName} is not an operator: nothing was changed and no confirmation code was issued. You can still read the current state (e.g. "what is the protection mode?"); ask an operator to make the change.`,
              stored
            )
          }
          yield* guard("authorization", "allow", "role_ok", { action: intent.kind })
          if (active !== null) {
            yield* guard("action_confirmation", "deny", "action_pending", { action: active.action })
            return done(
              `A change is already waiting for confirmation (${active.summary}). Confirm it with its code or say "cancel" first.`,
              active
            )
          }
          if (!config.observability.auditEnabled) {
            yield* guard("change_audit", "deny", "audit_disabled", { action: intent.kind })
            return done(
              `${AUDIT_OFF}. Nothing was changed and no confirmation code was issued; ask an administrator to turn the audit back on.`,
              stored
            )
          }
          // A throttled principal could not confirm a new code either: issue none.
          const throttledNow = yield* confirmation.throttle(binding.principal)
          if (Option.isSome(throttledNow)) {
            yield* guard("action_confirmation", "deny", "code_throttled", {
              action: intent.kind,
              failures: throttledNow.value.failures,
              retry_after_seconds: throttledNow.value.retryAfterSeconds
            })
            return done(
              `Too many wrong confirmation codes from ${principalName} recently: no new change can be confirmed for the next ${forHowLong(throttledNow.value.retryAfterSeconds)}, so no code was issued and nothing was changed.`,
              stored
            )
          }
          const change: ChangeIntent = intent
          let params: Record<string, string>
          let summary: string
          if (change.kind === "set_mode") {
            yield* guard("pre_tool_validation", "allow", "mode_valid", { mode: change.mode })
            params = { mode: change.mode }
            summary = `switch protection to ${change.mode} mode (${MODE_EFFECT[change.mode]})${timedSuffix(change.durationMillis, now)}`
            if (change.durationMillis !== undefined) params.duration_seconds = String(change.durationMillis / 1000)
          } else if (change.kind === "restore_mode") {
            // Refused now, before a code, when there is nothing to restore or the mode changed since.
            const plan = yield* tools.restorePlan("config_manager")
            if (!plan.restorable) {
              yield* guard("pre_tool_validation", "deny", "no_previous_mode", { problem: plan.reason })
              return done(plan.message, stored)
            }
            yield* guard("pre_tool_validation", "allow", "mode_valid", { mode: "previous" })
            params = {}
            summary = `restore the protection mode that was in effect before the last change (now ${plan.current.mode}; back to ${plan.restoresTo.mode})`
          } else {
            const checked = validateTarget(change.target, {
              minPrefixV4: config.guardrails.blacklistMinPrefixV4,
              minPrefixV6: config.guardrails.blacklistMinPrefixV6,
              protectedAddresses: safeLineAddresses(config.safeline.url)
            })
            if (!checked.ok) {
              yield* guard("pre_tool_validation", "deny", checked.reason, {
                target: change.target.slice(0, 64),
                detail: checked.detail
              })
              return done(
                `I won't ${change.kind === "blacklist_ip" ? "blacklist" : "unblock"} that: ${checked.detail}.`,
                stored
              )
            }
            yield* guard("pre_tool_validation", "allow", "ip_valid", { target: checked.target })
            if (change.kind === "blacklist_ip") {
              params = { target: checked.target, comment: change.comment }
              if (change.durationMillis !== undefined) params.duration_seconds = String(change.durationMillis / 1000)
              summary = `blacklist ${checked.target} (deny all its requests)${timedSuffix(change.durationMillis, now)}${earlier?.ip === checked.target ? `; target: ${earlier.provenance}` : ""}`
            } else {
              params = { target: checked.target }
              summary = `remove ${checked.target} from the blacklist`
            }
          }
          const { code, pending } = yield* confirmation.issue({
            binding,
            action: change.kind,
            params,
            summary,
            now,
            ttlSeconds: config.guardrails.confirmationTtlSeconds
          })
          yield* guard("action_confirmation", "challenge", "confirmation_required", { action: change.kind })
          const minutes = Math.round(config.guardrails.confirmationTtlSeconds / 60)
          return done(
            `To ${summary}, reply \`confirm ${code}\` within ${minutes >= 1 ? `${minutes} minute${minutes === 1 ? "" : "s"}` : `${config.guardrails.confirmationTtlSeconds} seconds`}, or \`cancel\`.`,
            pending
          )
        }
      }
    })
  )
