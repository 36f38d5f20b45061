// The supervisor: plans the turn on its first run, then hands each step to its specialist and
// takes the turn back between steps. While a change is pending, its confirmation, its cancel,
// and any assent without a valid code go to config_manager deterministically. A message that
// asks for one thing is routed as one step: the Reasoner's proposal, trusted only after the
// route guardrail parses it. A compound message becomes a plan — the model's, when it offers one
// that passes the plan guardrail, else one route per clause — bounded before any step runs.
import { Effect } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import type { SpecialistName } from "../../domain/Agents.js"
import { Telemetry } from "../../observability/Telemetry.js"
import { type HistoryMessage, Reasoner } from "../../reasoning/Reasoner.js"
import { parseConfigIntent } from "../ConfigIntent.js"
import { refersToEarlierTarget } from "../EarlierStepTarget.js"
import type { StepResult, TurnState, TurnUpdate } from "../GraphState.js"
import { splitClauses } from "../MessageClauses.js"
import { instrumentNode } from "../NodeRunner.js"
import { parseRoute } from "../RouteParser.js"
import { boundPlan, type PlanStep, parseModelPlan } from "../TurnPlan.js"

/** How much of an earlier step's reply a later step sees as history. */
const EARLIER_REPLY_CHARS = 1500

const routeOne = (message: string, history: ReadonlyArray<HistoryMessage>) =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const reasoner = yield* Reasoner
    const rawRoute = yield* reasoner.proposeRoute(message, history)
    const parsed = parseRoute(rawRoute)
    if (parsed.ok) {
      yield* telemetry.recordGuardrail({ gate: "route_parse", decision: "allow", reason: "allowed_token" })
      return { route: parsed.route, rawRoute }
    }
    yield* telemetry.recordGuardrail({
      gate: "route_parse",
      decision: "deny",
      reason: "invalid_token",
      metadata: { raw_route: rawRoute.slice(0, 200), fallback: "direct" }
    })
    return { route: "direct" as SpecialistName, rawRoute }
  })

/**
 * A step that would change the WAF: config_manager asked for a mode, a restore, a ban or an
 * unban (or a ban of "the worst one"). Its other steps only read or chat, and run like reads.
 */
const isChangeStep = (step: PlanStep): boolean => {
  if (step.agent !== "config_manager") return false
  const kind = parseConfigIntent(step.request).kind
  return CHANGE_KINDS.has(kind) || refersToEarlierTarget(step.request)
}

const CHANGE_KINDS = new Set<string>([
  "set_mode",
  "restore_mode",
  "blacklist_ip",
  "unblock_ip",
  "invalid_mode",
  "invalid_duration"
])

/** A compound message's steps: the model's plan when it passes the guardrail, else a route per clause. */
const proposeSteps = (state: TurnState, clauses: ReadonlyArray<string>, maxHops: number) =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const reasoner = yield* Reasoner
    if (reasoner.proposePlan !== undefined) {
      const raw = yield* Effect.either(reasoner.proposePlan(state.message, state.history, maxHops))
      if (raw._tag === "Right") {
        const parsed = parseModelPlan(raw.right, clauses)
        if (parsed.ok) return parsed.steps
        yield* telemetry.recordGuardrail({
          gate: "plan_validation",
          decision: "deny",
          reason: "invalid_plan",
          metadata: { detail: parsed.detail, raw_plan: raw.right.slice(0, 300), fallback: "rule_based" }
        })
      } else {
        yield* telemetry.recordGuardrail({
          gate: "plan_validation",
          decision: "deny",
          reason: "invalid_plan",
          metadata: { detail: raw.left.message.slice(0, 200), error_type: raw.left.errorType, fallback: "rule_based" }
        })
      }
    }
    const steps: Array<PlanStep> = []
    for (const clause of clauses) steps.push({ agent: (yield* routeOne(clause, state.history)).route, request: clause })
    return steps
  })

/** The first run: the turn's plan, from the operator's words alone. */
const plan = (state: TurnState) =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const config = yield* AppConfig
    const maxHops = config.guardrails.maxHops
    const intent = parseConfigIntent(state.message)
    if (
      state.pendingAction !== null &&
      (intent.kind === "confirm" || intent.kind === "cancel" || intent.kind === "assent")
    ) {
      yield* telemetry.recordGuardrail({ gate: "route_parse", decision: "allow", reason: "pending_confirmation" })
      return { steps: [{ agent: "config_manager" as const, request: state.message }], notRun: [], rawRoute: undefined }
    }
    const clauses = splitClauses(state.message)
    if (clauses.length === 1) {
      const { route, rawRoute } = yield* routeOne(state.message, state.history)
      return { steps: [{ agent: route, request: state.message }], notRun: [], rawRoute }
    }
    const bounded = boundPlan(yield* proposeSteps(state, clauses, maxHops), maxHops, isChangeStep)
    if (bounded.extraChanges.length > 0) {
      yield* telemetry.recordGuardrail({
        gate: "plan_validation",
        decision: "deny",
        reason: "second_change",
        metadata: { changes: bounded.extraChanges.map((s) => s.request.slice(0, 100)) }
      })
    }
    if (bounded.overBudget.length > 0) {
      yield* telemetry.recordGuardrail({
        gate: "hop_budget",
        decision: "deny",
        reason: "budget_exhausted",
        metadata: {
          max_hops: maxHops,
          planned: bounded.steps.length + bounded.overBudget.length,
          not_run: bounded.overBudget.map((s) => s.agent)
        }
      })
    } else if (bounded.steps.length > 1) {
      yield* telemetry.recordGuardrail({
        gate: "hop_budget",
        decision: "allow",
        reason: "within_budget",
        metadata: { steps: bounded.steps.length, max_hops: maxHops }
      })
    }
    const notRun = [
      ...bounded.overBudget.map((s) => ({ ...s, reason: "budget_exhausted" as const })),
      ...bounded.extraChanges.map((s) => ({ ...s, reason: "second_change" as const }))
    ]
    if (bounded.steps.length > 1) {
      yield* telemetry.recordGuardrail({
        gate: "plan_validation",
        decision: "allow",
        reason: "plan_valid",
        metadata: { steps: bounded.steps.map((s) => s.agent) }
      })
      return { steps: bounded.steps, notRun, rawRoute: undefined }
    }
    // Parts that all went to one specialist are one request: it gets the whole message, unless
    // other parts were left out (then only its own part, so it cannot act on theirs).
    const only = bounded.steps[0]
    // Nothing left to run (several changes, all refused): the turn is the reply saying so.
    if (only === undefined) return { steps: [], notRun, rawRoute: undefined }
    const request = notRun.length === 0 ? state.message : only.request
    return { steps: [{ agent: only.agent, request }], notRun, rawRoute: undefined }
  })

/** A later step sees what the earlier ones found, as history (each re-entry adds the step just done). */
const historyWith = (state: TurnState, done: StepResult): ReadonlyArray<HistoryMessage> => [
  ...state.history,
  { role: "user", content: done.request },
  { role: "assistant", content: done.reply.slice(0, EARLIER_REPLY_CHARS) }
]

export const supervisorNode = (state: TurnState) =>
  instrumentNode(
    "supervisor",
    Effect.gen(function* () {
      const telemetry = yield* Telemetry
      if (state.plan.length === 0) {
        const planned = yield* plan(state)
        const first = planned.steps[0]
        if (first === undefined) return { plan: [], notRun: planned.notRun, next: null } satisfies TurnUpdate
        yield* telemetry.recordRoute(first.agent, planned.rawRoute)
        yield* telemetry.recordHandoff("supervisor", first.agent)
        return {
          plan: planned.steps,
          notRun: planned.notRun,
          next: first.agent,
          message: first.request
        } satisfies TurnUpdate
      }
      // Back from a step: the turn returns to the supervisor, which hands the next step on.
      const previous = state.results.at(-1)
      const step = state.plan[state.step]!
      if (previous !== undefined) yield* telemetry.recordHandoff(previous.agent, "supervisor")
      yield* telemetry.recordRoute(step.agent, undefined)
      yield* telemetry.recordHandoff("supervisor", step.agent)
      return {
        next: step.agent,
        message: step.request,
        ...(previous === undefined ? {} : { history: historyWith(state, previous) })
      } satisfies TurnUpdate
    })
  )
