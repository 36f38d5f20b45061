// Picks the Reasoner layer from LLM_PROVIDER: offline by default, a LangChain model otherwise.
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { LlmReasonerLive } from "./LlmReasoner.js"
import { OfflineReasonerLive } from "./OfflineReasoner.js"

export const ReasonerLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => (config.llm.provider === "offline" ? OfflineReasonerLive : LlmReasonerLive))
)
