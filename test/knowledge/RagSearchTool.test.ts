// tool_rag_search is recorded as a tool call of the calling agent: metric, latency and event.
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { KnowledgeBase } from "../../src/knowledge/KnowledgeBase.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { withTurnSpan } from "../../src/observability/Correlation.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { RagSearchTool } from "../../src/tools/RagSearchTool.js"
import { sampleValue } from "../support/exposition.js"
import { testObservability } from "../support/layers.js"

const DOCS = join(import.meta.dirname, "..", "..", "data", "docs")
const layer = RagSearchTool.layer.pipe(
  Layer.provide(KnowledgeBase.layerFromDir(DOCS)),
  Layer.provideMerge(testObservability())
)

describe("RagSearchTool", () => {
  it.effect("searches the knowledge base and records the call for the agent that made it", () =>
    Effect.gen(function* () {
      const tool = yield* RagSearchTool
      const passages = yield* tool
        .search("tuner", "false positive narrow allow rule", { limit: 2, sources: ["safeline-admin-guide.md"] })
        .pipe(withTurnSpan("tool-session", "3", LOCAL_CLI_PRINCIPAL))
      expect(passages).toHaveLength(2)
      expect(passages.every((p) => p.source === "safeline-admin-guide.md")).toBe(true)
      const m = yield* AgentMetrics
      const text = yield* m.exposition
      expect(
        sampleValue(text, `${m.namespace}_agent_tool_calls_total`, {
          agent: "tuner",
          status: "ok",
          tool: "tool_rag_search"
        })
      ).toBe(1)
      expect(
        sampleValue(text, `${m.namespace}_agent_tool_latency_seconds_count`, {
          agent: "tuner",
          tool: "tool_rag_search"
        })
      ).toBe(1)
      const events = yield* Ref.get(yield* MemoryTraceEvents)
      expect(events).toEqual([
        expect.objectContaining({
          event: "tool.call",
          session_id: "tool-session",
          turn_id: "3",
          metadata: { agent: "tuner", tool: "tool_rag_search", status: "ok", duration_seconds: expect.any(Number) }
        })
      ])
    }).pipe(Effect.provide(layer))
  )
})
