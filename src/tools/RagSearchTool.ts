// tool_rag_search: a knowledge-base search made by an agent, recorded as a tool call (metric,
// latency, `tool.call` event) in an `execute_tool tool_rag_search` span around the retrieval span.
import { Context, Effect, Layer } from "effect"
import type { AgentName } from "../domain/Agents.js"
import type { ToolName } from "../domain/Tools.js"
import { KnowledgeBase, type KnowledgeSearchOptions } from "../knowledge/KnowledgeBase.js"
import type { Passage } from "../knowledge/Passage.js"
import { Telemetry } from "../observability/Telemetry.js"
import { instrumentToolCall } from "./InstrumentToolCall.js"
import type { ToolError } from "./ToolError.js"

const TOOL: ToolName = "tool_rag_search"

export interface RagSearchOptions {
  /** Passages to return (default 4, at most 20). */
  readonly limit?: number
  /** Only passages from these documents (e.g. `["safeline-admin-guide.md"]`). */
  readonly sources?: ReadonlyArray<string>
  /** A retry's wider net: synonyms expanded, prefix and fuzzy matching. */
  readonly broaden?: boolean
}

export interface RagSearchToolService {
  readonly search: (
    agent: AgentName,
    query: string,
    options?: RagSearchOptions
  ) => Effect.Effect<ReadonlyArray<Passage>, ToolError>
}

export class RagSearchTool extends Context.Tag("security-agent/RagSearchTool")<RagSearchTool, RagSearchToolService>() {
  static readonly layer = Layer.effect(
    RagSearchTool,
    Effect.gen(function* () {
      const knowledge = yield* KnowledgeBase
      const telemetry = yield* Telemetry
      const search = (agent: AgentName, query: string, options: RagSearchOptions = {}) => {
        const searchOptions: KnowledgeSearchOptions = {
          ...(options.limit === undefined ? {} : { limit: options.limit }),
          ...(options.sources === undefined ? {} : { sources: options.sources }),
          ...(options.broaden === undefined ? {} : { broaden: options.broaden })
        }
        return knowledge.search(query, searchOptions).pipe(
          Effect.tap((passages) => Effect.annotateCurrentSpan("security_agent.tool.result_count", passages.length)),
          instrumentToolCall(telemetry, agent, TOOL)
        )
      }
      return { search } satisfies RagSearchToolService
    })
  )
}
