// config_manager: protection mode and IP blacklist changes. Every change is validated before
// any tool runs, then waits for a 6-digit confirmation code from the same session; every
// decision on the way is a guardrail record (metric + event + audit).
import { isIP } from "node:net"
import { Clock, Effect, Option } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import type { GuardrailDecision, GuardrailGate, GuardrailReason } from "../../observability/Labels.js"
import { Telemetry } from "../../observability/Telemetry.js"
import type { PendingAction } from "../../sessions/Session.js"
import { SafeLineTools } from "../../tools/SafeLineTools.js"
import { type ConfigIntent, parseConfigIntent, type UserMode } from "../ConfigIntent.js"
import { checkConfirmation, issueConfirmation } from "../Confirmation.js"
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
      const now = yield* Clock.currentTimeMillis
      const guard = (
        gate: GuardrailGate,
        decision: GuardrailDecision,
        reason: GuardrailReason,
        metadata?: Record<string, unknown>
      ) =>
        telemetry.recordGuardrail(
          metadata === undefined ? { gate, decision, reason } : { gate, decision, reason, metadata }
        )
      const intent = parseConfigIntent(state.message)
      const stored = state.pendingAction
      const active = stored !== null && now <= stored.expiresAt ? stored : null

      const execute = (pending: PendingAction) =>
        Effect.gen(function* () {
          const p = pending.params
          switch (pending.action) {
            case "set_mode": {
              const change = yield* tools.setProtectionMode("config_manager", p.mode as UserMode)
              return `Protection mode is now ${change.current.mode} (was ${change.previous.mode}): ${MODE_EFFECT[p.mode as UserMode]}. Say "restore the previous mode" to undo.`
            }
            case "restore_mode": {
              const change = yield* tools.restoreProtectionMode("config_manager")
              return `Restored the previous protection mode: now ${change.current.mode} (was ${change.previous.mode}).`
            }
            case "blacklist_ip": {
              const change = yield* tools.manageIpBlacklist("config_manager", "add", p.target!, p.comment || undefined)
              return change.changed
                ? `${change.target} is blacklisted: added to IP group #${change.groupId} (security-agent blocklist), enforced by deny policy #${change.policyId}.`
                : `${change.target} was already blacklisted (IP group #${change.groupId}, deny policy #${change.policyId}); nothing changed.`
            }
            case "unblock_ip": {
              const change = yield* tools.manageIpBlacklist("config_manager", "remove", p.target!)
              return change.changed
                ? `${change.target} is no longer blacklisted: removed from IP group #${change.groupId}.`
                : `${change.target} was not in the blocklist; nothing changed.`
            }
          }
        })

      switch (intent.kind) {
        case "confirm": {
          if (stored === null) {
            yield* guard("action_confirmation", "deny", "no_pending_action")
            return done("There is no pending change to confirm in this session. Ask for the change first.", null)
          }
          const check = checkConfirmation({
            sessionId: state.sessionId,
            pending: stored,
            code: intent.code,
            now,
            maxAttempts: config.guardrails.confirmationMaxAttempts
          })
          const action = { action: stored.action }
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
                `Too many wrong codes: the pending change (${stored.summary}) is cancelled and nothing was changed.`,
                null
              )
            case "nonce_mismatch": {
              const left = config.guardrails.confirmationMaxAttempts - check.pending.failedAttempts
              yield* guard("action_confirmation", "deny", "nonce_mismatch", { ...action, attempts_left: left })
              return done(
                `That code does not match. ${left} attempt${left === 1 ? "" : "s"} left before the change is cancelled.`,
                check.pending
              )
            }
            case "nonce_match": {
              yield* guard("action_confirmation", "allow", "nonce_match", action)
              return yield* execute(stored).pipe(
                Effect.flatMap((reply) =>
                  Effect.as(guard("post_tool_result", "allow", "tool_ok", action), done(reply, null))
                ),
                Effect.catchTag("ToolError", (error) =>
                  Effect.as(
                    guard("post_tool_result", "deny", "tool_error", {
                      ...action,
                      error_type: error.errorType,
                      error: error.message
                    }),
                    done(`SafeLine did not apply the change (${stored.summary}): ${error.message}`, null, true)
                  )
                )
              )
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
        case "none": {
          const mode = yield* tools.getProtectionMode("config_manager")
          return done(
            `The protection mode is ${mode.mode}. I can change it ("switch to block mode", "detect mode", "strict mode", "turn protection off", "restore the previous mode") or manage the IP blacklist ("ban 203.0.113.7", "unblock 203.0.113.7"); every change asks for a confirmation code.`,
            stored
          )
        }
        case "invalid_mode": {
          yield* guard("pre_tool_validation", "deny", "invalid_mode", { requested: intent.requested })
          return done(`"${intent.requested}" is not a protection mode. Choose block, strict, detect or off.`, stored)
        }
        default: {
          if (active !== null) {
            yield* guard("action_confirmation", "deny", "action_pending", { action: active.action })
            return done(
              `A change is already waiting for confirmation (${active.summary}). Confirm it with its code or say "cancel" first.`,
              active
            )
          }
          const change: ChangeIntent = intent
          let params: Record<string, string>
          let summary: string
          if (change.kind === "set_mode") {
            yield* guard("pre_tool_validation", "allow", "mode_valid", { mode: change.mode })
            params = { mode: change.mode }
            summary = `switch protection to ${change.mode} mode (${MODE_EFFECT[change.mode]})`
          } else if (change.kind === "restore_mode") {
            yield* guard("pre_tool_validation", "allow", "mode_valid", { mode: "previous" })
            params = {}
            summary = "restore the protection mode that was in effect before the last change"
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
              summary = `blacklist ${checked.target} (deny all its requests)`
            } else {
              params = { target: checked.target }
              summary = `remove ${checked.target} from the blacklist`
            }
          }
          const { code, pending } = issueConfirmation({
            sessionId: state.sessionId,
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
