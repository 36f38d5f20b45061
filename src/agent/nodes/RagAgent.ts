// rag_agent: documentation answers grounded by the Self-RAG loop, with the sources it cites.
import { Effect } from "effect"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"
import { runSelfRag } from "../SelfRag.js"

export const ragAgentNode = (state: TurnState) =>
  instrumentNode(
    "rag_agent",
    Effect.map(runSelfRag(state.message, "rag_agent"), (outcome) => ({
      reply: outcome.reply,
      sources: outcome.sources,
      selfrag: outcome.attempts,
      failed: false
    }))
  )
