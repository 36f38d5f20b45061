// Turn.run is the one owner of a turn, for the API and the CLI alike: it serialises on the
// session, assigns the next turn_id, opens the turn span and the correlation context, runs
// the graph on the captured runtime, saves the session and records the turn's latency.
import { randomUUID } from "node:crypto"
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_REQUEST_MODEL,
  ERROR_TYPE_VALUE_OTHER
} from "@opentelemetry/semantic-conventions/incubating"
import { Cause, Clock, Context, Data, Effect, Either, Exit, FiberRef, Layer, Option, Runtime } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { AGENTS, type AgentName } from "../domain/Agents.js"
import type { TurnResult } from "../domain/Chat.js"
import type { Principal } from "../domain/Principal.js"
import { getTurn, withTurnSpan } from "../observability/Correlation.js"
import { Telemetry } from "../observability/Telemetry.js"
import { redactSecrets } from "../observability/TraceEvent.js"
import { genAiProviderName, type HistoryMessage, Reasoner } from "../reasoning/Reasoner.js"
import type { Session, SessionBusy, SessionMessage, SessionStoreUnavailable } from "../sessions/Session.js"
import { SessionStore } from "../sessions/SessionStore.js"
import { parseConfigIntent } from "./ConfigIntent.js"
import { maskCodes } from "./ConfirmationCodeMask.js"
import { currentDataSource } from "./DataSource.js"
import { Graph, type NodeDeps } from "./Graph.js"
import { newTurnState } from "./GraphState.js"
import { turnReply } from "./TurnReply.js"

/** How many stored messages (user and assistant) a turn hands to the graph as prompt history. */
const PROMPT_HISTORY_MESSAGES = 8

/** The GenAI conventions' structured message list (one text part), as the JSON string a span attribute holds. */
const genAiMessages = (role: "user" | "assistant", content: string, finishReason?: string): string =>
  JSON.stringify([
    { role, parts: [{ type: "text", content }], ...(finishReason === undefined ? {} : { finish_reason: finishReason }) }
  ])

export interface TurnRequest {
  readonly message: string
  /** Absent: a new session id is generated. */
  readonly sessionId?: string | undefined
  /** Who asks: the session is theirs alone, and every record of the turn names them. */
  readonly principal: Principal
  /** Where the request came from, for the audit (HTTP only). */
  readonly clientAddress?: string | undefined
}

/**
 * Where a principal's session lives in the store: the same session_id sent by another principal
 * is another session. Principal names cannot hold "/", so the key is unambiguous.
 */
export const sessionStoreKey = (principal: Principal, sessionId: string): string => `${principal.name}/${sessionId}`

/** The graph itself broke (a defect): the caller answers 500 with the trace id, nothing more. */
export class TurnFailed extends Data.TaggedError("TurnFailed")<{
  readonly sessionId: string
  readonly turnId: string
  readonly traceId: string
  readonly cause: unknown
}> {}

export interface TurnService {
  readonly run: (request: TurnRequest) => Effect.Effect<TurnResult, TurnFailed | SessionBusy | SessionStoreUnavailable>
}

export class Turn extends Context.Tag("security-agent/Turn")<Turn, TurnService>() {
  static readonly layer = Layer.effect(
    Turn,
    Effect.gen(function* () {
      const graph = yield* Graph
      const store = yield* SessionStore
      const telemetry = yield* Telemetry
      const config = yield* AppConfig
      const nodeContext = yield* Effect.context<NodeDeps>()
      const captureContent = config.observability.traceCaptureContent
      const reasoner = Context.get(nodeContext, Reasoner)
      /** Who did the thinking: an offline turn says so in its trace and span. */
      const reasonerFacts = { reasoner: reasoner.provider, model: reasoner.model }
      const genAiProvider = genAiProviderName(reasoner.provider)
      // Only the recent history can reach a prompt: the Reasoner trims it further to the model's context.
      const promptHistory = (messages: ReadonlyArray<SessionMessage>): Array<HistoryMessage> =>
        messages.slice(-PROMPT_HISTORY_MESSAGES).map((m) => ({ role: m.role, content: m.content }))

      /**
       * What the graph's nodes run on: this fiber's refs (the turn span, the correlation) with the
       * node services added to its context, as `Effect.provide(nodeContext)` + `Effect.runtime`
       * would give, without providing (and later restoring) the context around the whole graph.
       */
      const turnRuntime = Effect.withFiberRuntime<Runtime.Runtime<NodeDeps>>((fiber, status) =>
        Effect.succeed(
          Runtime.make({
            context: Context.merge(fiber.getFiberRef(FiberRef.currentContext), nodeContext),
            runtimeFlags: status.runtimeFlags,
            fiberRefs: fiber.getFiberRefs()
          })
        )
      )

      /** `maskedMessage`: the message as stored and captured (`maskCodes` of it, computed once). */
      const runGraph = (session: Session, sessionId: string, message: string, maskedMessage: string) =>
        Effect.gen(function* () {
          const started = yield* Clock.currentTimeMillis
          const traceId = Option.match(yield* getTurn, { onNone: () => "", onSome: (t) => t.traceId })
          // While a change waits for its code, any 6-digit run in the message may be that code:
          // it never reaches a prompt (except a well-formed `confirm NNNNNN`, which no model
          // reads) nor a captured trace.
          const pendingAtStart = session.pendingAction !== null
          // Parsed only when it matters: a confirmation is not masked while its change is pending.
          const graphMessage =
            pendingAtStart && parseConfigIntent(message).kind !== "confirm" ? maskCodes(message, true) : message
          yield* telemetry.recordTurnStarted(
            captureContent
              ? { message_chars: message.length, message: maskedMessage }
              : { message_chars: message.length }
          )
          if (captureContent)
            yield* Effect.annotateCurrentSpan(
              ATTR_GEN_AI_INPUT_MESSAGES,
              genAiMessages("user", redactSecrets(maskedMessage) as string)
            )
          const runtime = yield* turnRuntime
          const exit = yield* Effect.exit(
            Effect.tryPromise({
              try: (signal) =>
                graph.invoke(
                  newTurnState({
                    sessionId,
                    message: graphMessage,
                    history: promptHistory(session.messages),
                    pendingAction: session.pendingAction
                  }),
                  runtime,
                  signal
                ),
              catch: (cause) => cause
            })
          )
          const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
          if (Exit.isFailure(exit)) {
            const cause = Cause.squash(exit.cause)
            yield* Effect.annotateCurrentSpan({
              [ATTR_ERROR_TYPE]: cause instanceof Error && cause.name !== "" ? cause.name : ERROR_TYPE_VALUE_OTHER
            })
            yield* telemetry.recordTurnCompleted(seconds, { status: "error", error: String(cause).slice(0, 300) })
            return { ok: false as const, traceId, cause }
          }
          const state = exit.value
          // A multi-step turn is named after its first step; every step is in `steps`.
          const route = (state.plan[0]?.agent ?? state.next ?? "direct") as AgentName
          const answer = turnReply(state, config.guardrails.maxHops)
          yield* Effect.annotateCurrentSpan({
            "security_agent.route": route,
            [ATTR_GEN_AI_REQUEST_MODEL]: reasoner.model
          })
          // The reply as stored and captured: no code in it, whether pending before or after the turn.
          const maskedReply = maskCodes(answer.reply, pendingAtStart || state.pendingAction !== null)
          if (captureContent)
            yield* Effect.annotateCurrentSpan(
              ATTR_GEN_AI_OUTPUT_MESSAGES,
              genAiMessages("assistant", redactSecrets(maskedReply) as string, "stop")
            )
          yield* telemetry.recordTurnCompleted(seconds, {
            status: answer.failed ? "degraded" : "ok",
            route,
            ...(answer.steps === undefined ? {} : { steps: answer.steps.map((s) => `${s.agent}:${s.status}`) }),
            reply_chars: answer.reply.length,
            sources: answer.sources.length,
            ...reasonerFacts,
            ...(captureContent ? { reply: maskedReply } : {})
          })
          return { ok: true as const, traceId, state, route, answer, maskedReply }
        })

      /** What `withSession` saves, and the outcome to hand back once the session is unlocked. */
      const entry = (outcome: Either.Either<TurnResult, TurnFailed>, saved: Session) => [outcome, saved] as const

      const run = (request: TurnRequest) => {
        const sessionId = request.sessionId ?? randomUUID()
        return Effect.flatMap(
          store.withSession(sessionStoreKey(request.principal, sessionId), (session) =>
            Effect.gen(function* () {
              const turnId = String(session.turnCount + 1)
              // The stored history (and so every later prompt) never holds a live code.
              const maskedMessage = maskCodes(request.message, session.pendingAction !== null)
              const outcome = yield* withTurnSpan(
                sessionId,
                turnId,
                request.principal,
                request.clientAddress,
                genAiProvider
              )(runGraph(session, sessionId, request.message, maskedMessage))
              const now = yield* Clock.currentTimeMillis
              const ts = new Date(now).toISOString()
              const userMessage: SessionMessage = { role: "user", content: maskedMessage, ts }
              if (!outcome.ok) {
                // The turn id is spent (its events exist) even though the turn failed.
                const saved: Session = {
                  ...session,
                  turnCount: session.turnCount + 1,
                  messages: [...session.messages, userMessage],
                  updatedAt: now
                }
                return entry(
                  Either.left(new TurnFailed({ sessionId, turnId, traceId: outcome.traceId, cause: outcome.cause })),
                  saved
                )
              }
              const { state, route, answer, maskedReply } = outcome
              const saved: Session = {
                ...session,
                turnCount: session.turnCount + 1,
                messages: [...session.messages, userMessage, { role: "assistant", content: maskedReply, route, ts }],
                pendingAction: state.pendingAction,
                updatedAt: now
              }
              const pending = state.pendingAction
              const dataSource = yield* Effect.provide(currentDataSource, nodeContext)
              const result: TurnResult = {
                session_id: sessionId,
                turn_id: turnId,
                trace_id: outcome.traceId,
                route: (AGENTS as ReadonlyArray<string>).includes(route) ? route : "direct",
                reply: answer.reply,
                sources: answer.sources,
                ...(answer.steps === undefined ? {} : { steps: answer.steps }),
                ...(pending === null
                  ? {}
                  : {
                      pending_action: {
                        action: pending.action,
                        summary: pending.summary,
                        expires_at: new Date(pending.expiresAt).toISOString()
                      }
                    }),
                data_source: dataSource.name
              }
              return entry(Either.right(result), saved)
            })
          ),
          (outcome) => outcome
        )
      }
      return { run }
    })
  )
}
