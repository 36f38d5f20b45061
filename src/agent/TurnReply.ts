// The reply of a finished turn. One step: its specialist's reply, as it wrote it. Several: each
// step's reply under its request, then what was asked but not done and why — so an operator
// who asked for two things never silently gets one.
import type { SpecialistName } from "../domain/Agents.js"
import type { SourceRef } from "../domain/Chat.js"
import type { StepResult, TurnState } from "./GraphState.js"

const agentName = (agent: string): string => agent.replace("_", " ")

const NOT_RUN_REASONS = {
  budget_exhausted: (maxHops: number) =>
    `not done: a turn runs at most ${maxHops} steps (AGENT_MAX_HOPS); ask for it in a new message`,
  second_change: () =>
    "not done: this message asked for more than one WAF change and a turn makes at most one; ask for each change on its own"
} as const

export interface TurnReply {
  readonly reply: string
  readonly sources: ReadonlyArray<SourceRef>
  /** True when a step could not do its job. */
  readonly failed: boolean
  /** Every step asked for, in order, with whether it ran: only for a multi-step turn. */
  readonly steps?: ReadonlyArray<{
    readonly agent: SpecialistName
    readonly status: "done" | "failed" | "not_run"
    readonly request: string
  }>
}

const quote = (request: string): string => `"${request.length > 120 ? `${request.slice(0, 117)}...` : request}"`

export const turnReply = (state: TurnState, maxHops: number): TurnReply => {
  const results: ReadonlyArray<StepResult> = state.results
  if (results.length === 1 && state.notRun.length === 0) {
    return { reply: state.reply, sources: state.sources, failed: state.failed }
  }
  const parts = results.map((r, i) => `**${i + 1}. ${quote(r.request)}** (${agentName(r.agent)})\n${r.reply}`)
  const notRun = state.notRun.map(
    (s, i) =>
      `**${results.length + i + 1}. ${quote(s.request)}** (${agentName(s.agent)}): ${NOT_RUN_REASONS[s.reason](maxHops)}.`
  )
  const seen = new Set<string>()
  const sources = results
    .flatMap((r) => r.sources)
    .filter((s) => {
      const key = `${s.source}#${s.section}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
  return {
    reply: [...parts, ...notRun].join("\n\n"),
    sources,
    failed: results.some((r) => r.failed),
    steps: [
      ...results.map((r) => ({
        agent: r.agent,
        status: r.failed ? ("failed" as const) : ("done" as const),
        request: r.request
      })),
      ...state.notRun.map((s) => ({ agent: s.agent, status: "not_run" as const, request: s.request }))
    ]
  }
}
