// The state one turn carries through the LangGraph graph: the message, what the supervisor
// chose, the specialist's reply, and the session's pending change (in and out).
import { Annotation } from "@langchain/langgraph"
import type { SpecialistName } from "../domain/Agents.js"
import type { SourceRef } from "../domain/Chat.js"
import type { HistoryMessage } from "../reasoning/Reasoner.js"
import type { PendingAction } from "../sessions/Session.js"

export interface SelfRagAttemptTrace {
  readonly attempt: number
  readonly decision: string
  readonly reason: string
  readonly citations: ReadonlyArray<number>
  readonly citationsOk: boolean
}

export const GraphState = Annotation.Root({
  sessionId: Annotation<string>(),
  message: Annotation<string>(),
  history: Annotation<ReadonlyArray<HistoryMessage>>(),
  /** The specialist the supervisor handed the turn to. */
  next: Annotation<SpecialistName | null>(),
  reply: Annotation<string>(),
  sources: Annotation<ReadonlyArray<SourceRef>>(),
  /** The session's pending change: read by config_manager, written back to the session. */
  pendingAction: Annotation<PendingAction | null>(),
  selfrag: Annotation<ReadonlyArray<SelfRagAttemptTrace>>(),
  /** True when the specialist could not do its job (its reply explains why). */
  failed: Annotation<boolean>()
})

export type TurnState = typeof GraphState.State
export type TurnUpdate = typeof GraphState.Update
