// The LLM-backed Reasoner over LangChain chat models: OpenAI (and any OpenAI-compatible server
// via OPENAI_BASE_URL: vLLM, Ollama, LM Studio), Google and Anthropic. Every call is a
// `chat <model>` span with token usage and GenAI metrics; routing falls back to the offline
// classifier when the model is unreachable, so a dead LLM degrades answers, not the service.
import { ChatAnthropic } from "@langchain/anthropic"
import type { BaseChatModel } from "@langchain/core/language_models/chat_models"
import { type BaseMessage, HumanMessage, SystemMessage } from "@langchain/core/messages"
import { ChatGoogleGenerativeAI } from "@langchain/google-genai"
import { ChatOpenAI } from "@langchain/openai"
import { Clock, Effect, Exit, Layer, Option, Redacted } from "effect"
import { AppConfig, type AppSettings } from "../config/AppConfig.js"
import { SELFRAG_DECISIONS } from "../domain/Outcomes.js"
import { withTurnChildSpan } from "../observability/Correlation.js"
import { runInOtelContext } from "../observability/Otlp.js"
import { Telemetry } from "../observability/Telemetry.js"
import { composeSystemPrompt } from "./prompts/ComposePrompt.js"
import { CRITIC_SYSTEM_PROMPT, DRAFT_SYSTEM_PROMPT, numberedPassages } from "./prompts/GroundingPrompts.js"
import { ROUTE_SYSTEM_PROMPT } from "./prompts/RoutePrompt.js"
import { Reasoner, ReasonerError, type ReasonerService } from "./Reasoner.js"
import { loadRoutingExamples, trainRouteClassifier } from "./RouteClassifier.js"

export interface ChatModelChoice {
  readonly provider: "openai" | "google" | "anthropic"
  readonly model: string
  readonly chatModel: BaseChatModel
  /** Where a cheap reachability probe can be sent, when the provider has one. */
  readonly modelsUrl: Option.Option<string>
  readonly apiKey: Option.Option<Redacted.Redacted>
}

const secret = (value: Option.Option<Redacted.Redacted>) => Option.getOrUndefined(Option.map(value, Redacted.value))

/** Builds the configured LangChain chat model (no network until the first call). */
export const chooseChatModel = (llm: AppSettings["llm"]): ChatModelChoice => {
  const common = { maxRetries: llm.maxRetries, timeout: llm.timeoutSeconds * 1000 }
  switch (llm.provider) {
    case "google":
      return {
        provider: "google",
        model: llm.googleModel,
        chatModel: new ChatGoogleGenerativeAI({
          model: llm.googleModel,
          apiKey: secret(llm.googleApiKey) ?? "",
          maxRetries: llm.maxRetries
        }),
        modelsUrl: Option.none(),
        apiKey: llm.googleApiKey
      }
    case "anthropic":
      return {
        provider: "anthropic",
        model: llm.anthropicModel,
        chatModel: new ChatAnthropic({
          model: llm.anthropicModel,
          apiKey: secret(llm.anthropicApiKey) ?? "",
          ...common
        }),
        modelsUrl: Option.none(),
        apiKey: llm.anthropicApiKey
      }
    default: {
      const baseURL = Option.getOrUndefined(llm.openaiBaseUrl)
      return {
        provider: "openai",
        model: llm.openaiModel,
        chatModel: new ChatOpenAI({
          model: llm.openaiModel,
          // Local OpenAI-compatible servers (Ollama, vLLM) accept any key.
          apiKey: secret(llm.openaiApiKey) ?? "not-needed",
          configuration: baseURL === undefined ? {} : { baseURL },
          ...common
        }),
        modelsUrl: Option.some(`${(baseURL ?? "https://api.openai.com/v1").replace(/\/+$/, "")}/models`),
        apiKey: llm.openaiApiKey
      }
    }
  }
}

const classify = (error: unknown): ReasonerError["errorType"] => {
  const text = `${(error as { name?: string })?.name ?? ""} ${String((error as Error)?.message ?? error)}`.toLowerCase()
  const status = (error as { status?: number })?.status
  if (/timeout|timed out|aborterror|abort/.test(text)) return "timeout"
  if (status === 429 || /rate limit|429/.test(text)) return "rate_limited"
  if (
    (status !== undefined && status >= 500) ||
    /econnrefused|fetch failed|connection|enotfound|socket|network|5\d\d/.test(text)
  ) {
    return "unavailable"
  }
  if (/json|parse|invalid|unexpected/.test(text)) return "invalid_response"
  return "other"
}

const textOf = (message: BaseMessage): string =>
  typeof message.content === "string"
    ? message.content
    : message.content.map((part) => ("text" in part && typeof part.text === "string" ? part.text : "")).join("")

export const makeLlmReasoner = (choice: ChatModelChoice, timeoutSeconds: number) =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const fallbackRouter = trainRouteClassifier(loadRoutingExamples())

    /** One chat call: span, metrics and `llm.call` event, with the error classified. */
    const chat = (purpose: string, messages: Array<BaseMessage>) =>
      Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(
          runInOtelContext(() =>
            choice.chatModel.invoke(messages, { signal: AbortSignal.timeout(timeoutSeconds * 1000) })
          )
        )
        const durationSeconds = ((yield* Clock.currentTimeMillis) - started) / 1000
        if (Exit.isSuccess(exit)) {
          const usage = exit.value.usage_metadata
          yield* Effect.annotateCurrentSpan({
            "gen_ai.usage.input_tokens": usage?.input_tokens ?? 0,
            "gen_ai.usage.output_tokens": usage?.output_tokens ?? 0
          })
          yield* telemetry.recordLlmCall({
            operation: "chat",
            provider: choice.provider,
            model: choice.model,
            durationSeconds,
            inputTokens: usage?.input_tokens,
            outputTokens: usage?.output_tokens
          })
          return textOf(exit.value)
        }
        const error = exit.cause._tag === "Fail" ? exit.cause.error : exit.cause
        const errorType = classify(error)
        yield* Effect.annotateCurrentSpan({ "error.type": errorType })
        yield* telemetry.recordLlmCall({
          operation: "chat",
          provider: choice.provider,
          model: choice.model,
          durationSeconds,
          errorType
        })
        return yield* Effect.fail(
          new ReasonerError({
            message: `the language model (${choice.provider} ${choice.model}) failed: ${errorType.replace("_", " ")}`,
            errorType,
            cause: error
          })
        )
      }).pipe(
        withTurnChildSpan(`chat ${choice.model}`, {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": choice.provider,
          "gen_ai.request.model": choice.model,
          "security_agent.purpose": purpose
        })
      )

    const service: ReasonerService = {
      provider: choice.provider,
      model: choice.model,
      offline: false,
      proposeRoute: (message, history) =>
        chat("route", [
          new SystemMessage(ROUTE_SYSTEM_PROMPT),
          ...history.slice(-4).map((m) => new HumanMessage(`(${m.role}) ${m.content.slice(0, 500)}`)),
          new HumanMessage(message)
        ]).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(`routing with the offline classifier: ${error.message}`).pipe(
              Effect.as(fallbackRouter.classify(message).route)
            )
          )
        ),
      compose: (request) =>
        chat("compose", [
          new SystemMessage(composeSystemPrompt(request.agent)),
          new HumanMessage(
            `Question: ${request.question}\n\nTool data:\n${JSON.stringify(request.facts).slice(0, 12000)}\n\nDraft:\n${request.draft}`
          )
        ]),
      draftAnswer: (request) =>
        chat("draft", [
          new SystemMessage(DRAFT_SYSTEM_PROMPT),
          new HumanMessage(`Passages:\n${numberedPassages(request.passages)}\n\nQuestion: ${request.question}`)
        ]),
      critique: (request) =>
        chat("critique", [
          new SystemMessage(CRITIC_SYSTEM_PROMPT),
          new HumanMessage(
            `Passages:\n${numberedPassages(request.passages)}\n\nQuestion: ${request.question}\n\nDraft:\n${request.draft}`
          )
        ]).pipe(
          Effect.map((text) => {
            const json = text.match(/\{[\s\S]*\}/)?.[0]
            try {
              const parsed = JSON.parse(json ?? "") as { decision?: string; reason?: string }
              const decision = String(parsed.decision ?? "").toUpperCase()
              if ((SELFRAG_DECISIONS as ReadonlyArray<string>).includes(decision)) {
                return {
                  decision: decision as (typeof SELFRAG_DECISIONS)[number],
                  reason: String(parsed.reason ?? "other")
                }
              }
            } catch {
              // Falls through: an unreadable verdict is retried, never trusted.
            }
            return { decision: "RETRY" as const, reason: "invalid_critic_output" }
          })
        ),
      ping: Option.match(choice.modelsUrl, {
        onNone: () => Effect.void,
        onSome: (url) =>
          Effect.tryPromise({
            try: async (signal) => {
              const key = secret(choice.apiKey)
              const response = await fetch(url, {
                signal: AbortSignal.any([signal, AbortSignal.timeout(3000)]),
                headers: key === undefined ? {} : { authorization: `Bearer ${key}` }
              })
              if (response.status >= 500) throw new Error(`HTTP ${response.status}`)
            },
            catch: (error) =>
              new ReasonerError({ message: `${url} is not reachable`, errorType: classify(error), cause: error })
          })
      })
    }
    return service
  })

/** The Reasoner chosen by LLM_PROVIDER (offline unless configured otherwise). */
export const LlmReasonerLive = Layer.effect(
  Reasoner,
  Effect.flatMap(AppConfig, (config) => makeLlmReasoner(chooseChatModel(config.llm), config.llm.timeoutSeconds))
)
