// The LLM-backed Reasoner over LangChain chat models: OpenAI (and any OpenAI-compatible server
// via OPENAI_BASE_URL: vLLM, Ollama, LM Studio), Google and Anthropic. Every call is a
// `chat <model>` span with token usage and GenAI metrics; routing falls back to the offline
// classifier when the model is unreachable, so a dead LLM degrades answers, not the service.
import { ChatAnthropic } from "@langchain/anthropic"
import type { BaseChatModel } from "@langchain/core/language_models/chat_models"
import { type BaseMessage, HumanMessage, SystemMessage } from "@langchain/core/messages"
import { ChatGoogleGenerativeAI } from "@langchain/google-genai"
import { ChatOpenAI } from "@langchain/openai"
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ERROR_TYPE_VALUE_OTHER,
  GEN_AI_OPERATION_NAME_VALUE_CHAT
} from "@opentelemetry/semantic-conventions/incubating"
import { Clock, Effect, Exit, Layer, Option, Redacted } from "effect"
import { AppConfig, type AppSettings } from "../config/AppConfig.js"
import { SPECIALISTS, type SpecialistName } from "../domain/Agents.js"
import { SELFRAG_DECISIONS } from "../domain/Outcomes.js"
import { annotateCurrentSpanList, withTurnChildSpan } from "../observability/Correlation.js"
import { runInOtelContext } from "../observability/Otlp.js"
import { Telemetry } from "../observability/Telemetry.js"
import { redactSecrets } from "../observability/TraceEvent.js"
import { offlineCritique, offlineDraft } from "./OfflineGrounding.js"
import { composeSystemPrompt } from "./prompts/ComposePrompt.js"
import { CRITIC_SYSTEM_PROMPT, DRAFT_SYSTEM_PROMPT, numberedPassages } from "./prompts/GroundingPrompts.js"
import { planSystemPrompt } from "./prompts/PlanPrompt.js"
import { ROUTE_SYSTEM_PROMPT } from "./prompts/RoutePrompt.js"
import { genAiProviderName, type HistoryMessage, Reasoner, ReasonerError, type ReasonerService } from "./Reasoner.js"
import { loadRoutingExamples, trainRouteClassifier } from "./RouteClassifier.js"

export interface ChatModelChoice {
  readonly provider: "openai" | "google" | "anthropic"
  readonly model: string
  readonly chatModel: BaseChatModel
  /** Where a cheap reachability probe can be sent, when the provider has one. */
  readonly modelsUrl: Option.Option<string>
  readonly apiKey: Option.Option<Redacted.Redacted>
  /** `server.address` / `server.port` of the chat endpoint. */
  readonly server: { readonly address: string; readonly port: number }
  /** How structured output is requested (OpenAI-compatible servers only; others get `none`). */
  readonly responseFormat: AppSettings["llm"]["openaiResponseFormat"]
  /**
   * The chat model capped at `maxTokens` reply tokens. LangChain's providers take the cap only
   * when built (a `max_tokens` call option is dropped), and a server without one writes until
   * its context is full. Without it, `max_tokens` goes as a call option (scripted models).
   */
  readonly capped?: (maxTokens: number) => BaseChatModel
}

/** One model per cap, built on first use: a reasoner asks for a handful of distinct caps. */
const perCap = (build: (maxTokens: number) => BaseChatModel) => {
  const built = new Map<number, BaseChatModel>()
  return (maxTokens: number): BaseChatModel => {
    let model = built.get(maxTokens)
    if (model === undefined) {
      model = build(maxTokens)
      built.set(maxTokens, model)
    }
    return model
  }
}

/** The host and port of an endpoint URL (443/80 by scheme when the URL names none). */
const serverOf = (url: string): ChatModelChoice["server"] => {
  const parsed = new URL(url)
  const port = parsed.port === "" ? (parsed.protocol === "http:" ? 80 : 443) : Number(parsed.port)
  return { address: parsed.hostname, port }
}

const secret = (value: Option.Option<Redacted.Redacted>) => Option.getOrUndefined(Option.map(value, Redacted.value))

/** Builds the configured LangChain chat model (no network until the first call). */
export const chooseChatModel = (llm: AppSettings["llm"]): ChatModelChoice => {
  const common = { maxRetries: llm.maxRetries, timeout: llm.timeoutSeconds * 1000 }
  switch (llm.provider) {
    case "google": {
      const google = (maxOutputTokens?: number) =>
        new ChatGoogleGenerativeAI({
          model: llm.googleModel,
          apiKey: secret(llm.googleApiKey) ?? "",
          maxRetries: llm.maxRetries,
          ...(maxOutputTokens === undefined ? {} : { maxOutputTokens })
        })
      return {
        provider: "google",
        model: llm.googleModel,
        chatModel: google(),
        capped: perCap(google),
        modelsUrl: Option.none(),
        apiKey: llm.googleApiKey,
        server: serverOf("https://generativelanguage.googleapis.com"),
        responseFormat: "none"
      }
    }
    case "anthropic": {
      const anthropic = (maxTokens?: number) =>
        new ChatAnthropic({
          model: llm.anthropicModel,
          apiKey: secret(llm.anthropicApiKey) ?? "",
          ...common,
          ...(maxTokens === undefined ? {} : { maxTokens })
        })
      return {
        provider: "anthropic",
        model: llm.anthropicModel,
        chatModel: anthropic(),
        capped: perCap(anthropic),
        modelsUrl: Option.none(),
        apiKey: llm.anthropicApiKey,
        server: serverOf("https://api.anthropic.com"),
        responseFormat: "none"
      }
    }
    default: {
      const baseURL = Option.getOrUndefined(llm.openaiBaseUrl)
      const openai = (maxTokens?: number) =>
        new ChatOpenAI({
          model: llm.openaiModel,
          // Local OpenAI-compatible servers (Ollama, vLLM) accept any key.
          apiKey: secret(llm.openaiApiKey) ?? "not-needed",
          configuration: baseURL === undefined ? {} : { baseURL },
          ...common,
          // Sent as max_tokens (max_completion_tokens for reasoning models).
          ...(maxTokens === undefined ? {} : { maxTokens })
        })
      return {
        provider: "openai",
        model: llm.openaiModel,
        chatModel: openai(),
        capped: perCap(openai),
        modelsUrl: Option.some(`${(baseURL ?? "https://api.openai.com/v1").replace(/\/+$/, "")}/models`),
        apiKey: llm.openaiApiKey,
        server: serverOf(baseURL ?? "https://api.openai.com/v1"),
        responseFormat: llm.openaiResponseFormat
      }
    }
  }
}

/** A server refusing a prompt longer than the model's context (llama.cpp, vLLM, OpenAI wordings). */
const CONTEXT_LENGTH =
  /context length|context window|maximum context|context_length_exceeded|exceeds? (the )?(available )?context|too many tokens|n_ctx/

const classify = (error: unknown): ReasonerError["errorType"] => {
  const text = `${(error as { name?: string })?.name ?? ""} ${String((error as Error)?.message ?? error)}`.toLowerCase()
  const status = (error as { status?: number })?.status
  if (/timeout|timed out|aborterror|abort/.test(text)) return "timeout"
  if (status === 429 || /rate limit|429/.test(text)) return "rate_limited"
  // The model cannot take this prompt at all: for the turn it is an outage, like a dead server.
  if (CONTEXT_LENGTH.test(text)) return "unavailable"
  if (
    (status !== undefined && status >= 500) ||
    /econnrefused|fetch failed|connection|enotfound|socket|network|5\d\d/.test(text)
  ) {
    return "unavailable"
  }
  if (/json|parse|invalid|unexpected/.test(text)) return "invalid_response"
  return "other"
}

/**
 * A model call under LLM_TIMEOUT_SECONDS: its signal aborts at the deadline with the reason
 * `AbortSignal.timeout` gives (a `TimeoutError`), or when the caller is interrupted. One timer,
 * cleared as soon as the call settles; `AbortSignal.timeout`'s would live on to the deadline.
 */
const withDeadline = <A, E>(millis: number, call: (signal: AbortSignal) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    const controller = new AbortController()
    const timer = setTimeout(
      () => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
      millis
    )
    return Effect.onExit(call(controller.signal), (exit) =>
      Effect.sync(() => {
        clearTimeout(timer)
        if (Exit.isInterrupted(exit)) controller.abort()
      })
    )
  })

const textOf = (message: BaseMessage): string =>
  typeof message.content === "string"
    ? message.content
    : message.content.map((part) => ("text" in part && typeof part.text === "string" ? part.text : "")).join("")

/** A plan is a few short steps: room for about three of them, each quoting a sentence. */
const PLAN_MAX_TOKENS = 256

/** The largest reply a call may ask for: a route is a few tokens, prose at most an eighth of the context. */
const maxOutputTokens = (purpose: string, contextTokens: number): number =>
  purpose === "route"
    ? 32
    : purpose === "critique"
      ? 96
      : purpose === "plan"
        ? PLAN_MAX_TOKENS
        : Math.max(64, Math.min(512, Math.floor(contextTokens / 8)))

/**
 * A conservative token estimate without the model's tokenizer: 2 characters per token (English
 * runs near 4, but tool JSON full of digits, IPs and punctuation near 2), plus each message's
 * framing. Over-estimating only trims a little early; under-estimating overflows small contexts.
 */
const estimateTokens = (text: string): number => Math.ceil(text.length / 2) + 8

/** Cuts `text` to about `tokens` tokens, saying that it did. */
const truncateTo = (text: string, tokens: number): string => {
  const chars = Math.max(0, (tokens - 8) * 2 - 40)
  return text.length <= chars ? text : `${text.slice(0, chars)}\n[... truncated to fit the model's context]`
}

/**
 * The messages of one call, fitted to the context window: the oldest history goes first, then
 * the user content (tool data, passages) is truncated; the system prompt always stays.
 */
export const fitToContext = (
  system: string,
  history: ReadonlyArray<HistoryMessage>,
  user: string,
  budgetTokens: number
): Array<BaseMessage> => {
  const systemTokens = estimateTokens(system)
  let kept = history.map((m) => `(${m.role}) ${m.content.slice(0, 500)}`)
  const total = () => systemTokens + kept.reduce((n, m) => n + estimateTokens(m), 0) + estimateTokens(user)
  while (kept.length > 0 && total() > budgetTokens) kept = kept.slice(1)
  const room = budgetTokens - systemTokens - kept.reduce((n, m) => n + estimateTokens(m), 0)
  return [
    new SystemMessage(system),
    ...kept.map((m) => new HumanMessage(m)),
    new HumanMessage(estimateTokens(user) > room ? truncateTo(user, room) : user)
  ]
}

const ROUTE_SCHEMA = {
  type: "object",
  properties: { route: { type: "string", enum: [...SPECIALISTS] } },
  required: ["route"],
  additionalProperties: false
} as const

const CRITIQUE_SCHEMA = {
  type: "object",
  properties: {
    decision: { type: "string", enum: [...SELFRAG_DECISIONS] },
    reason: { type: "string", enum: ["grounded", "insufficient_evidence", "ambiguous_question", "no_evidence"] }
  },
  required: ["decision", "reason"],
  additionalProperties: false
} as const

/** A plan of 1..maxSteps steps, each one specialist and its part of the message. */
export const planSchema = (maxSteps: number) =>
  ({
    type: "object",
    properties: {
      steps: {
        type: "array",
        minItems: 1,
        maxItems: Math.max(1, Math.floor(maxSteps)),
        items: {
          type: "object",
          properties: {
            agent: { type: "string", enum: [...SPECIALISTS] },
            // No length keywords: OpenAI's strict mode refuses some; the reply cap and the plan
            // guardrail bound the text.
            request: { type: "string" }
          },
          required: ["agent", "request"],
          additionalProperties: false
        }
      }
    },
    required: ["steps"],
    additionalProperties: false
  }) as const

/** The `response_format` call option asking an OpenAI-compatible server for JSON of this schema. */
const responseFormat = (mode: ChatModelChoice["responseFormat"], name: string, schema: object) =>
  mode === "json_schema"
    ? { response_format: { type: "json_schema", json_schema: { name, strict: true, schema } } }
    : mode === "json_object"
      ? // llama.cpp's server (llama-cpp-python) turns `schema` into a grammar the sampler must follow.
        { response_format: { type: "json_object", schema } }
      : {}

const ROUTE_JSON_INSTRUCTION = `\nReply with a JSON object: {"route": "<agent name>"}.`

const parseJsonObject = (text: string): Record<string, unknown> | undefined => {
  const json = text.match(/\{[\s\S]*\}/)?.[0]
  if (json === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(json)
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The specialists a prose answer names (`log analyst`, `rag_agent`, ...). */
const namedSpecialists = (text: string): Array<SpecialistName> => {
  const lower = text.toLowerCase()
  return SPECIALISTS.filter((name) => new RegExp(`\\b${name.replace("_", "[\\s_-]?")}\\b`).test(lower))
}

/** The route in the model's answer, when it names exactly one specialist (JSON or prose). */
export const routeOfAnswer = (text: string): SpecialistName | undefined => {
  const json = parseJsonObject(text)
  const candidate = typeof json?.route === "string" ? json.route.trim().toLowerCase() : undefined
  if (candidate !== undefined && (SPECIALISTS as ReadonlyArray<string>).includes(candidate))
    return candidate as SpecialistName
  const named = namedSpecialists(json === undefined ? text : String(json.route ?? ""))
  return named.length === 1 ? named[0] : undefined
}

/** The GenAI conventions' structured message list, as the JSON string a span attribute holds. */
const conventionMessages = (messages: ReadonlyArray<BaseMessage>): string =>
  JSON.stringify(
    messages.map((m) => ({
      role: m._getType() === "system" ? "system" : m._getType() === "ai" ? "assistant" : "user",
      parts: [{ type: "text", content: redactSecrets(textOf(m)) }]
    }))
  )

interface ResponseFacts {
  readonly id?: string
  readonly model?: string
  readonly finishReasons: ReadonlyArray<string>
}

/** Response id, model and finish reason as each LangChain provider reports them. */
const responseFacts = (message: BaseMessage): ResponseFacts => {
  const meta = (message.response_metadata ?? {}) as Record<string, unknown>
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined)
  const finish = str(meta.finish_reason) ?? str(meta.stop_reason) ?? str(meta.finishReason)
  const id = str(message.id) ?? str(meta.id)
  const model = str(meta.model_name) ?? str(meta.model) ?? str(meta.modelName)
  return {
    ...(id === undefined ? {} : { id }),
    ...(model === undefined ? {} : { model }),
    finishReasons: finish === undefined ? [] : [finish]
  }
}

/**
 * A model's route that contradicts the offline classifier at this confidence or more is not
 * trusted: small local models answer with a valid but arbitrary agent name, and a confident
 * classifier is right far more often. A capable model agrees with it, so it is rarely overruled.
 */
export const ROUTE_OVERRIDE_CONFIDENCE = 0.9

interface RouteDecision {
  readonly source: "model" | "offline_router"
  readonly route: SpecialistName
  readonly why?: "unparsable" | "contradicts_classifier"
  readonly proposed?: SpecialistName
}

/**
 * Said in a documentation answer drafted without the model; uncited, so the citation checks
 * skip it, and it stays in the reply above the sources.
 */
export const DRAFT_UNAVAILABLE_NOTE =
  "(The language model is unavailable right now, so this answer quotes the documentation directly.)"

export interface LlmReasonerOptions {
  readonly timeoutSeconds: number
  /** The model's context window in tokens (LLM_CONTEXT_TOKENS). */
  readonly contextTokens?: number
  /** Opt-in: prompts and answers on `chat` spans (AGENT_TRACE_CAPTURE_CONTENT). */
  readonly captureContent?: boolean
}

export const makeLlmReasoner = (choice: ChatModelChoice, options: LlmReasonerOptions | number) =>
  Effect.gen(function* () {
    const {
      timeoutSeconds,
      contextTokens = 8192,
      captureContent = false
    } = typeof options === "number" ? { timeoutSeconds: options } : options
    const telemetry = yield* Telemetry
    const fallbackRouter = trainRouteClassifier(loadRoutingExamples())
    const providerName = genAiProviderName(choice.provider)

    /** One chat call: span, metrics and `llm.call` event, with the error classified. */
    const chat = (
      purpose: string,
      messages: Array<BaseMessage>,
      callOptions: Record<string, unknown> = {},
      describe?: (answer: string) => Record<string, unknown>
    ) =>
      Effect.gen(function* () {
        const maxTokens = maxOutputTokens(purpose, contextTokens)
        if (captureContent) yield* Effect.annotateCurrentSpan(ATTR_GEN_AI_INPUT_MESSAGES, conventionMessages(messages))
        const started = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(
          withDeadline(timeoutSeconds * 1000, (signal) =>
            runInOtelContext(() =>
              (choice.capped?.(maxTokens) ?? choice.chatModel).invoke(messages, {
                signal,
                ...(choice.capped === undefined && choice.provider === "openai" ? { max_tokens: maxTokens } : {}),
                ...callOptions
              } as Parameters<BaseChatModel["invoke"]>[1])
            )
          )
        )
        const durationSeconds = ((yield* Clock.currentTimeMillis) - started) / 1000
        if (Exit.isSuccess(exit)) {
          const usage = exit.value.usage_metadata
          const response = responseFacts(exit.value)
          const text = textOf(exit.value)
          // Token counts only when the provider reported them: an absent count is not a zero.
          yield* Effect.annotateCurrentSpan({
            ...(usage?.input_tokens === undefined ? {} : { [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: usage.input_tokens }),
            ...(usage?.output_tokens === undefined ? {} : { [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: usage.output_tokens }),
            ...(response.id === undefined ? {} : { [ATTR_GEN_AI_RESPONSE_ID]: response.id }),
            ...(response.model === undefined ? {} : { [ATTR_GEN_AI_RESPONSE_MODEL]: response.model })
          })
          if (describe !== undefined) yield* Effect.annotateCurrentSpan(describe(text))
          if (response.finishReasons.length > 0)
            yield* annotateCurrentSpanList(ATTR_GEN_AI_RESPONSE_FINISH_REASONS, response.finishReasons)
          if (captureContent) {
            yield* Effect.annotateCurrentSpan(
              ATTR_GEN_AI_OUTPUT_MESSAGES,
              JSON.stringify([
                {
                  role: "assistant",
                  parts: [{ type: "text", content: redactSecrets(text) }],
                  finish_reason: response.finishReasons[0] ?? "stop"
                }
              ])
            )
          }
          yield* telemetry.recordLlmCall({
            operation: "chat",
            provider: providerName,
            model: choice.model,
            durationSeconds,
            inputTokens: usage?.input_tokens,
            outputTokens: usage?.output_tokens
          })
          return text
        }
        const error = exit.cause._tag === "Fail" ? exit.cause.error : exit.cause
        const errorType = classify(error)
        yield* Effect.annotateCurrentSpan({
          [ATTR_ERROR_TYPE]: errorType === "other" ? ERROR_TYPE_VALUE_OTHER : errorType
        })
        yield* telemetry.recordLlmCall({
          operation: "chat",
          provider: providerName,
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
        withTurnChildSpan(
          `chat ${choice.model}`,
          {
            [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_CHAT,
            [ATTR_GEN_AI_PROVIDER_NAME]: providerName,
            [ATTR_GEN_AI_REQUEST_MODEL]: choice.model,
            [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: maxOutputTokens(purpose, contextTokens),
            [ATTR_SERVER_ADDRESS]: choice.server.address,
            [ATTR_SERVER_PORT]: choice.server.port,
            "security_agent.purpose": purpose
          },
          "client"
        )
      )

    /** What a prompt may use: the window minus the reply it asks for. */
    const promptBudget = (purpose: string) => contextTokens - maxOutputTokens(purpose, contextTokens)
    const structured = choice.responseFormat !== "none"

    /**
     * The offline classifier's route when the model's answer names no single specialist: a route
     * guardrail decision, counted and traced like every other.
     */
    const decideRoute = (message: string, raw: string): RouteDecision => {
      const offline = fallbackRouter.classify(message)
      const proposed = routeOfAnswer(raw)
      if (proposed === undefined) return { source: "offline_router", route: offline.route, why: "unparsable" }
      if (proposed !== offline.route && offline.confidence >= ROUTE_OVERRIDE_CONFIDENCE)
        return { source: "offline_router", route: offline.route, why: "contradicts_classifier", proposed }
      return { source: "model", route: proposed }
    }
    const fallbackRoute = (raw: string, decision: RouteDecision) =>
      Effect.as(
        telemetry.recordGuardrail({
          gate: "route_parse",
          decision: "deny",
          reason: "invalid_token",
          metadata: {
            raw_route: raw.slice(0, 200),
            fallback: "offline_router",
            why: decision.why ?? "unparsable",
            route: decision.route,
            ...(decision.proposed === undefined ? {} : { proposed: decision.proposed })
          }
        }),
        decision.route
      )

    const service: ReasonerService = {
      provider: choice.provider,
      model: choice.model,
      offline: false,
      proposeRoute: (message, history) =>
        chat(
          "route",
          fitToContext(
            structured ? ROUTE_SYSTEM_PROMPT + ROUTE_JSON_INSTRUCTION : ROUTE_SYSTEM_PROMPT,
            history.slice(-4),
            message,
            promptBudget("route")
          ),
          responseFormat(choice.responseFormat, "route", ROUTE_SCHEMA),
          (raw) => {
            const decision = decideRoute(message, raw)
            return { "security_agent.route.source": decision.source, "security_agent.route": decision.route }
          }
        ).pipe(
          Effect.flatMap((raw) => {
            const decision = decideRoute(message, raw)
            return decision.source === "model" ? Effect.succeed(decision.route) : fallbackRoute(raw, decision)
          }),
          Effect.catchAll((error) =>
            Effect.logWarning(`routing with the offline classifier: ${error.message}`).pipe(
              Effect.as(fallbackRouter.classify(message).route)
            )
          )
        ),
      // The raw plan: the plan guardrail (src/agent/TurnPlan.ts) parses and bounds it, and plans by
      // rule when this fails (typed, like every call) or answers something it cannot read.
      proposePlan: (message, history, maxSteps) =>
        chat(
          "plan",
          fitToContext(planSystemPrompt(maxSteps), history.slice(-4), message, promptBudget("plan")),
          responseFormat(choice.responseFormat, "plan", planSchema(maxSteps)),
          (raw) => {
            const steps = parseJsonObject(raw)?.steps
            return Array.isArray(steps) ? { "security_agent.plan.steps": steps.length } : {}
          }
        ),
      compose: (request) =>
        chat(
          "compose",
          fitToContext(
            composeSystemPrompt(request.agent),
            [],
            // The draft carries every fact; the tool data is context for the wording, so it takes
            // at most about a quarter of the window (a small model's prompt time grows with it).
            `Question: ${request.question}\n\nDraft:\n${request.draft}\n\nTool data:\n${JSON.stringify(request.facts).slice(0, Math.min(12000, Math.floor(promptBudget("compose") / 2)))}`,
            promptBudget("compose")
          )
        ),
      // Documentation answers degrade to the offline extractive grounding when the model fails.
      draftAnswer: (request) =>
        chat(
          "draft",
          fitToContext(
            DRAFT_SYSTEM_PROMPT,
            [],
            `Question: ${request.question}\n\nPassages:\n${numberedPassages(request.passages)}`,
            promptBudget("draft")
          )
        ).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(`drafting with the offline grounding: ${error.message}`).pipe(
              Effect.as(`${offlineDraft(request)}\n\n${DRAFT_UNAVAILABLE_NOTE}`)
            )
          )
        ),
      critique: (request) =>
        chat(
          "critique",
          fitToContext(
            CRITIC_SYSTEM_PROMPT,
            [],
            `Question: ${request.question}\n\nDraft:\n${request.draft}\n\nPassages:\n${numberedPassages(request.passages)}`,
            promptBudget("critique")
          ),
          responseFormat(choice.responseFormat, "critique", CRITIQUE_SCHEMA)
        ).pipe(
          Effect.map((text) => {
            const parsed = parseJsonObject(text)
            const decision = String(parsed?.decision ?? "").toUpperCase()
            if ((SELFRAG_DECISIONS as ReadonlyArray<string>).includes(decision)) {
              return {
                decision: decision as (typeof SELFRAG_DECISIONS)[number],
                reason: String(parsed?.reason ?? "other")
              }
            }
            // An unreadable verdict is retried, never trusted.
            return { decision: "RETRY" as const, reason: "invalid_critic_output" }
          }),
          Effect.catchAll((error) =>
            Effect.logWarning(`critiquing with the offline grounding: ${error.message}`).pipe(
              Effect.as(offlineCritique(request))
            )
          )
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
  Effect.flatMap(AppConfig, (config) =>
    makeLlmReasoner(chooseChatModel(config.llm), {
      timeoutSeconds: config.llm.timeoutSeconds,
      contextTokens: config.llm.contextTokens,
      captureContent: config.observability.traceCaptureContent
    })
  )
)
