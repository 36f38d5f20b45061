// The state one turn carries through the LangGraph graph: the message, the supervisor's plan,
// each step's result, the current specialist's reply, and the session's pending change (in and out).
import { Annotation } from "@langchain/langgraph"
import type { SpecialistName } from "../domain/Agents.js"
import type { SourceRef } from "../domain/Chat.js"
import type { HistoryMessage } from "../reasoning/Reasoner.js"
import type { PendingAction } from "../sessions/Session.js"
import type { PlanStep } from "./TurnPlan.js"

export interface SelfRagAttemptTrace {
  readonly attempt: number
  readonly decision: string
  readonly reason: string
  readonly citations: ReadonlyArray<number>
  readonly citationsOk: boolean
}

/**
 * What a specialist found that a later step may act on, from structured tool fields only (never
 * from free text a tool returned): the source a "ban the worst one" refers to.
 */
export interface StepFacts {
  readonly topSource?: {
    readonly ip: string
    /** Where it came from, as the confirmation prompt says it: "the top source in the last hour". */
    readonly description: string
  }
}

/** One finished step of the turn's plan. */
export interface StepResult {
  readonly agent: SpecialistName
  readonly request: string
  readonly reply: string
  readonly failed: boolean
  readonly sources: ReadonlyArray<SourceRef>
  readonly facts: StepFacts
}

export interface TurnState {
  readonly sessionId: string
  readonly message: string
  readonly history: ReadonlyArray<HistoryMessage>
  /** The operator's whole message; `message` is the current step's part of it. */
  readonly operatorMessage: string
  /** The specialist the supervisor handed the turn to (the current step's). */
  readonly next: SpecialistName | null
  /** The steps to run, made by the supervisor before any tool runs; one for most turns. */
  readonly plan: ReadonlyArray<PlanStep>
  /** Steps the plan's guardrail did not run (hop budget, a second change), for the reply. */
  readonly notRun: ReadonlyArray<PlanStep & { readonly reason: "budget_exhausted" | "second_change" }>
  /** How many steps have finished. */
  readonly step: number
  readonly results: ReadonlyArray<StepResult>
  /** The current specialist's structured findings; moved into its StepResult. */
  readonly facts: StepFacts
  readonly reply: string
  readonly sources: ReadonlyArray<SourceRef>
  /** The session's pending change: read by config_manager, written back to the session. */
  readonly pendingAction: PendingAction | null
  readonly selfrag: ReadonlyArray<SelfRagAttemptTrace>
  /** True when the specialist could not do its job (its reply explains why). */
  readonly failed: boolean
}

/** What a node returns: the fields it changed. */
export type TurnUpdate = Partial<TurnState>

/**
 * The graph's state is the whole turn in one channel: every field is last-value-wins and one
 * node runs at a time, so one channel means the same, and LangGraph copies, versions and
 * checkpoints one value per step instead of fifteen.
 */
export const GraphState = Annotation.Root({ turn: Annotation<TurnState>() })

export type GraphTurn = typeof GraphState.State

/** The state a node's update leaves: its fields over the turn's, as fifteen last-value channels did. */
export const applyUpdate = (state: TurnState, update: TurnUpdate): TurnState => ({ ...state, ...update }) as TurnState

/** The state a turn starts from: nothing planned, nothing run yet. */
export const newTurnState = (start: {
  readonly sessionId: string
  readonly message: string
  readonly history: ReadonlyArray<HistoryMessage>
  readonly pendingAction: PendingAction | null
}): TurnState => ({
  ...start,
  operatorMessage: start.message,
  next: null,
  plan: [],
  notRun: [],
  step: 0,
  results: [],
  facts: {},
  reply: "",
  sources: [],
  selfrag: [],
  failed: false
})
