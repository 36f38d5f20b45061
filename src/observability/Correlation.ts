// The turn's correlation ids ride in a FiberRef, so every event, audit record and span made
// while a turn runs carries the same session_id / turn_id / trace_id without threading them.
import { Effect, FiberRef, Option } from "effect"
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
  (sessionId: string, turnId: string, principal: Principal, clientAddress?: string) =>
  <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const span = yield* Effect.orDie(Effect.currentSpan)
      return yield* Effect.locally(
        body,
        currentTurn,
        Option.some({ sessionId, turnId, traceId: span.traceId, principal, clientAddress })
      )
    }).pipe(
      Effect.withSpan(TURN_SPAN_NAME, {
        kind: "server",
        attributes: {
          "gen_ai.operation.name": "invoke_agent",
          "gen_ai.agent.name": "security-agent",
          "gen_ai.conversation.id": sessionId,
          "session.id": sessionId,
          "turn.id": turnId,
          "user.id": principal.name,
          "user.roles": [principal.role]
        }
      })
    )

/**
 * A span inside a turn, carrying the GenAI conversation id so every span of a turn can be
 * found by session in a tracing backend.
 */
export const withTurnChildSpan =
  (name: string, attributes: Record<string, unknown> = {}) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(getTurn, (turn) =>
      Effect.withSpan(self, name, {
        attributes: Option.match(turn, {
          onNone: () => attributes,
          onSome: (t) => ({ "gen_ai.conversation.id": t.sessionId, "turn.id": t.turnId, ...attributes })
        })
      })
    )
