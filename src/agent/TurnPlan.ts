// The plan of a multi-step turn and its guardrail. A plan is made from the operator's message
// before any tool runs, so nothing a tool returns (attack payloads, user agents, URLs) can add a
// step. A model's plan is trusted only when every step names one specialist and asks for words
// the operator actually wrote (whole clauses); then every plan is bounded: at most one WAF change,
// run last, and at most AGENT_MAX_HOPS steps.
import { SPECIALISTS, type SpecialistName } from "../domain/Agents.js"

export interface PlanStep {
  readonly agent: SpecialistName
  /** The part of the operator's message this step answers (the whole message for a one-step turn). */
  readonly request: string
}

/** Longest request a model's step may carry (the message itself is bounded upstream). */
const MAX_REQUEST_CHARS = 2000

/** Lowercase words only: how a step's request is compared with the operator's clauses. */
const normalize = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}.:/-]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim()

export type ModelPlanParse =
  | { readonly ok: true; readonly steps: ReadonlyArray<PlanStep> }
  | { readonly ok: false; readonly detail: string }

const reject = (detail: string): ModelPlanParse => ({ ok: false, detail })

/** More steps than this is junk, not a plan: refused before any is read. */
const MAX_MODEL_STEPS = 32

/**
 * A model's raw plan (`{"steps":[{"agent":…,"request":…}]}`, perhaps in a code fence) as steps,
 * or why it is refused: not JSON, no steps, an absurd number of steps, an unknown agent, or a
 * request that is not one of the operator's clauses (or several neighbouring ones) word for
 * word. The model chooses who answers each part and may group parts; it never writes a request:
 * a span cut inside a word ("block 198.51.100.2" out of "unblock 198.51.100.23") or past a
 * negation, or text from history (which holds earlier replies built from attack data), is
 * refused. A plan longer than the hop budget is not refused here: `boundPlan` cuts it, and the
 * cut is the hop_budget decision a bouncing model shows up as.
 */
export const parseModelPlan = (raw: string, clauses: ReadonlyArray<string>): ModelPlanParse => {
  const json = raw
    .trim()
    .replace(/^```(?:json)?\s*/i, "")
    .replace(/\s*```$/, "")
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return reject("not JSON")
  }
  const steps = (parsed as { steps?: unknown } | null)?.steps
  if (!Array.isArray(steps) || steps.length === 0) return reject("no steps")
  if (steps.length > MAX_MODEL_STEPS) return reject(`${steps.length} steps`)
  const parts = clauses.map(normalize)
  /** Every run of neighbouring clauses, as the model may name it, with its text as the operator wrote it. */
  const allowed = new Map<string, string>()
  for (let from = 0; from < parts.length; from++) {
    for (let to = from; to < parts.length; to++) {
      allowed.set(parts.slice(from, to + 1).join(" "), clauses.slice(from, to + 1).join(" "))
    }
  }
  const out: Array<PlanStep> = []
  for (const step of steps) {
    const agent = (step as { agent?: unknown } | null)?.agent
    const request = (step as { request?: unknown } | null)?.request
    if (typeof agent !== "string" || !(SPECIALISTS as ReadonlyArray<string>).includes(agent.trim())) {
      return reject("unknown agent")
    }
    if (typeof request !== "string" || request.length > MAX_REQUEST_CHARS) return reject("invalid request")
    const operatorWords = allowed.get(normalize(request))
    if (operatorWords === undefined) return reject("request is not the operator's clause")
    out.push({ agent: agent.trim() as SpecialistName, request: operatorWords })
  }
  return { ok: true, steps: out }
}

export interface BoundedPlan {
  /** What runs, in order: the change (if any) last. */
  readonly steps: ReadonlyArray<PlanStep>
  /** Asked for, but beyond AGENT_MAX_HOPS. */
  readonly overBudget: ReadonlyArray<PlanStep>
  /** WAF changes not run: a message asking for several gets none of them (one per turn, and which is meant is the operator's to say). */
  readonly extraChanges: ReadonlyArray<PlanStep>
}

/**
 * Bounds a proposed plan: greetings give way to real requests, adjacent steps for the same
 * specialist become one, a single WAF change moves to the end (a pending change ends the turn)
 * — several are all left out — and only the first `maxHops` steps run. `isChange` tells a
 * change from a config_manager step that only reads or chats ("my boss likes block mode").
 */
export const boundPlan = (
  proposed: ReadonlyArray<PlanStep>,
  maxHops: number,
  isChange: (step: PlanStep) => boolean
): BoundedPlan => {
  const substantive = proposed.some((s) => s.agent !== "direct")
    ? proposed.filter((s) => s.agent !== "direct")
    : proposed
  const changes = substantive.filter(isChange)
  const reads = substantive.filter((s) => !isChange(s))
  const merged: Array<PlanStep> = []
  for (const step of reads) {
    const last = merged.at(-1)
    if (last !== undefined && last.agent === step.agent) {
      merged[merged.length - 1] = { agent: step.agent, request: `${last.request} ${step.request}` }
    } else merged.push(step)
  }
  const change = changes.length === 1 ? changes[0] : undefined
  const ordered = change === undefined ? merged : [...merged, change]
  return {
    steps: ordered.slice(0, maxHops),
    overBudget: ordered.slice(maxHops),
    extraChanges: changes.length > 1 ? changes : []
  }
}
