// The turn's correlation ids ride in a FiberRef, so every event, audit record and span made
// while a turn runs carries the same session_id / turn_id / trace_id without threading them.

import * as OtelTracer from "@effect/opentelemetry/Tracer"
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT
} from "@opentelemetry/semantic-conventions/incubating"
import { Cause, Context, Effect, type Fiber, FiberRef, Option, Tracer } from "effect"
import { globalValue } from "effect/GlobalValue"
import type { Principal } from "../domain/Principal.js"

export interface TurnContext {
  readonly sessionId: string
  readonly turnId: string
  /** The W3C trace id of the turn span, shared by JSONL events and exported spans. */
  readonly traceId: string
  /** Who the turn acts for: audit records, WAF-change events and spans name them. */
  readonly principal: Principal
  /** The client's address (the socket peer, or X-Forwarded-For from a trusted proxy); absent in the CLI. */
  readonly clientAddress?: string | undefined
  /** The turn's `gen_ai.provider.name` (the Reasoner's provider), set on every `invoke_agent` span at creation. */
  readonly genAiProvider?: string | undefined
}

export const currentTurn: FiberRef.FiberRef<Option.Option<TurnContext>> = globalValue(
  Symbol.for("security-agent/Correlation/currentTurn"),
  () => FiberRef.unsafeMake<Option.Option<TurnContext>>(Option.none())
)

/** The turn the current fiber works for, if any. */
export const getTurn: Effect.Effect<Option.Option<TurnContext>> = FiberRef.get(currentTurn)

export const TURN_SPAN_NAME = "invoke_agent security-agent"

/**
 * Runs `body` as one turn: opens the turn span and stamps the turn context (with that span's
 * trace id) into the FiberRef for everything inside.
 */
export const withTurnSpan =
  (sessionId: string, turnId: string, principal: Principal, clientAddress?: string, genAiProvider?: string) =>
  <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withFiberRuntime<A, E, R>((fiber) => {
      // The span withSpan below has just opened (read off the fiber: no Effect.currentSpan round trip).
      const span = Context.getOption(fiber.getFiberRef(FiberRef.currentContext), Tracer.ParentSpan)
      if (span._tag === "None" || span.value._tag !== "Span") return Effect.die(new Cause.NoSuchElementException())
      return Effect.locally(
        body,
        currentTurn,
        Option.some({ sessionId, turnId, traceId: span.value.traceId, principal, clientAddress, genAiProvider })
      )
    }).pipe(
      Effect.withSpan(TURN_SPAN_NAME, {
        // An in-process agent: INTERNAL, a child of the HTTP server span (or a root in the CLI).
        kind: "internal",
        // The call site would always be this file: not worth an Error (a stack capture) per span.
        captureStackTrace: false,
        attributes: {
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
          [ATTR_GEN_AI_AGENT_NAME]: "security-agent",
          ...(genAiProvider === undefined ? {} : { [ATTR_GEN_AI_PROVIDER_NAME]: genAiProvider }),
          [ATTR_GEN_AI_CONVERSATION_ID]: sessionId,
          "session.id": sessionId,
          "turn.id": turnId,
          "user.id": principal.name,
          "user.roles": [principal.role]
        }
      })
    )

/** A turn child span's options: the turn's conversation and turn ids first, then `attributes`. */
const childSpanOptions = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  attributes: Record<string, unknown>,
  kind: Tracer.SpanKind
) => {
  const turn = fiber.getFiberRef(currentTurn)
  return {
    kind,
    captureStackTrace: false,
    attributes:
      turn._tag === "None"
        ? attributes
        : { [ATTR_GEN_AI_CONVERSATION_ID]: turn.value.sessionId, "turn.id": turn.value.turnId, ...attributes }
  }
}

/**
 * A span inside a turn, carrying the GenAI conversation id so every span of a turn can be
 * found by session in a tracing backend.
 */
export const withTurnChildSpan =
  (name: string, attributes: Record<string, unknown> = {}, kind: Tracer.SpanKind = "internal") =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withFiberRuntime((fiber) => Effect.withSpan(self, name, childSpanOptions(fiber, attributes, kind)))

/**
 * An `invoke_agent <agent>` span inside a turn, with the turn's `gen_ai.provider.name` set at
 * creation (samplers and processors see it on start, not only at the end).
 */
export const withAgentSpan =
  (agent: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withFiberRuntime((fiber) => {
      const provider = Option.flatMapNullable(fiber.getFiberRef(currentTurn), (t) => t.genAiProvider)
      const attributes = {
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
        [ATTR_GEN_AI_AGENT_NAME]: agent,
        ...(provider._tag === "None" ? {} : { [ATTR_GEN_AI_PROVIDER_NAME]: provider.value })
      }
      return Effect.withSpan(self, `invoke_agent ${agent}`, childSpanOptions(fiber, attributes, "internal"))
    })

/**
 * Sets an array-valued attribute (`gen_ai.response.finish_reasons`) as an OTel string array on
 * the exported span: Effect's own annotation would serialise the array into one JSON string.
 * Without an OTel span (tracing off) the Effect span keeps the array as is.
 */
export const annotateCurrentSpanList = (key: string, values: ReadonlyArray<string>): Effect.Effect<void> =>
  OtelTracer.currentOtelSpan.pipe(
    Effect.flatMap((span) => Effect.sync(() => span.setAttribute(key, [...values]))),
    Effect.orElse(() => Effect.annotateCurrentSpan(key, values))
  )
