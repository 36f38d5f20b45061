import { describe, expect, it } from "@effect/vitest"
import type { BaseMessage } from "@langchain/core/messages"
import type { ChatResult } from "@langchain/core/outputs"
import { FakeListChatModel } from "@langchain/core/utils/testing"
import { Effect, Layer, Option, Ref } from "effect"
import { Turn } from "../../src/agent/Turn.js"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { makeLlmReasoner } from "../../src/reasoning/LlmReasoner.js"
import { Reasoner } from "../../src/reasoning/Reasoner.js"
import { testApp } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"
import { testObservability } from "../support/layers.js"

/** A chat model whose every call fails the way an unreachable server does. */
class UnreachableChatModel extends FakeListChatModel {
  override async _generate(_messages: Array<BaseMessage>): Promise<ChatResult> {
    throw new Error("connect ECONNREFUSED 127.0.0.1:11434")
  }
}

const reasonerOver = (chatModel: FakeListChatModel, model = `fake-${Math.random().toString(36).slice(2, 8)}`) =>
  Effect.map(
    makeLlmReasoner(
      {
        provider: "openai",
        model,
        chatModel,
        modelsUrl: Option.none(),
        apiKey: Option.none(),
        server: { address: "127.0.0.1", port: 11434 },
        responseFormat: "none"
      },
      5
    ),
    (reasoner) => ({ reasoner, model })
  )

const llmMetric = (model: string, name: string, labels: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const text = yield* Effect.flatMap(AgentMetrics, (m) => m.exposition)
    return sampleValue(text, name, {
      gen_ai_operation_name: "chat",
      gen_ai_provider_name: "openai",
      gen_ai_request_model: model,
      ...labels
    })
  })

describe("LlmReasoner with a scripted chat model", () => {
  it.effect("returns the model's route, rephrasing and critique, and records GenAI metrics and llm.call events", () =>
    Effect.gen(function* () {
      const { reasoner, model } = yield* reasonerOver(
        new FakeListChatModel({
          responses: [
            "The right agent is **monitor**.",
            "Traffic is calm: 21 req/s.",
            '{"decision": "FINAL", "reason": "grounded"}',
            "I think it is fine"
          ]
        })
      )
      // Prose naming one specialist is read as that route.
      expect(yield* reasoner.proposeRoute("what is my traffic?", [])).toBe("monitor")
      expect(yield* reasoner.compose({ agent: "monitor", question: "q", facts: {}, draft: "d" })).toBe(
        "Traffic is calm: 21 req/s."
      )
      expect(yield* reasoner.critique({ question: "q", draft: "d", passages: [] })).toEqual({
        decision: "FINAL",
        reason: "grounded"
      })
      // An unreadable verdict is retried, never trusted.
      expect(yield* reasoner.critique({ question: "q", draft: "d", passages: [] })).toEqual({
        decision: "RETRY",
        reason: "invalid_critic_output"
      })
      expect(yield* llmMetric(model, "gen_ai_client_operation_duration_seconds_count")).toBe(4)
      const events = yield* Effect.flatMap(MemoryTraceEvents, Ref.get)
      expect(events.filter((e) => e.event === "llm.call").map((e) => e.metadata.model)).toEqual([
        model,
        model,
        model,
        model
      ])
    }).pipe(Effect.provide(testObservability()))
  )

  it.effect("an unreachable model: routing falls back to the offline classifier, other calls fail typed", () =>
    Effect.gen(function* () {
      const { reasoner, model } = yield* reasonerOver(new UnreachableChatModel({ responses: [] }))
      expect(yield* reasoner.proposeRoute("show me recent attacks", [])).toBe("log_analyst")
      const error = yield* Effect.flip(reasoner.compose({ agent: "monitor", question: "q", facts: {}, draft: "d" }))
      expect(error._tag).toBe("ReasonerError")
      expect(error.errorType).toBe("unavailable")
      expect(
        yield* llmMetric(model, "gen_ai_client_operation_duration_seconds_count", { error_type: "unavailable" })
      ).toBe(2)
      expect(yield* llmMetric(model, "gen_ai_client_operation_duration_seconds_count")).toBeUndefined()
    }).pipe(Effect.provide(testObservability()))
  )

  it.live(
    "drives a whole turn: the model routes and words the reply; a dead model degrades to the built-in draft",
    () =>
      Effect.gen(function* () {
        const turn = yield* Turn
        const routed = yield* turn.run({
          message: "anything at all",
          sessionId: "llm-1",
          principal: LOCAL_CLI_PRINCIPAL
        })
        expect(routed.route).toBe("monitor")
        // The model's wording, then the data-source line the agent appends after it (issue 15).
        expect(routed.reply).toMatch(/^Traffic is calm\.\n\nData source: the SafeLine simulator/)
      }).pipe(
        Effect.provide(
          testApp(
            {},
            {
              reasoner: Layer.effect(
                Reasoner,
                Effect.map(
                  reasonerOver(new FakeListChatModel({ responses: ["monitor", "Traffic is calm."] })),
                  (r) => r.reasoner
                )
              )
            }
          )
        )
      )
  )

  it.live("with the model down, a turn still answers from the tool data", () =>
    Effect.gen(function* () {
      const turn = yield* Turn
      const result = yield* turn.run({
        message: "what is my traffic?",
        sessionId: "llm-2",
        principal: LOCAL_CLI_PRINCIPAL
      })
      expect(result.route).toBe("monitor")
      expect(result.reply).toMatch(/Current traffic: [\d.,]+ requests\/s/)
      expect(result.reply).toContain("language model is unavailable")
    }).pipe(
      Effect.provide(
        testApp(
          {},
          {
            reasoner: Layer.effect(
              Reasoner,
              Effect.map(reasonerOver(new UnreachableChatModel({ responses: [] })), (r) => r.reasoner)
            )
          }
        )
      )
    )
  )
})
