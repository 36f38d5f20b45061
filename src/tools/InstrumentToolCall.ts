// The one wrapper every agent tool call goes through: an `execute_tool <tool>` span (a child of
// the turn's), and one Telemetry record (metric + `tool.call` event) whatever the outcome.
import { Cause, Clock, Context, Effect, Exit, Option } from "effect"
import type { AgentName } from "../domain/Agents.js"
import type { ToolName } from "../domain/Tools.js"
import { withTurnChildSpan } from "../observability/Correlation.js"
import type { Telemetry } from "../observability/Telemetry.js"
import type { ToolError } from "./ToolError.js"

/** What the span and the record say about a failed call: a ToolError's own, else interrupted or a defect. */
const failureOf = (cause: Cause.Cause<ToolError>): { readonly error: string; readonly errorType: string } =>
  Option.match(Cause.failureOption(cause), {
    onSome: (failure) => ({ error: failure.message, errorType: failure.errorType }),
    onNone: () =>
      Cause.isInterruptedOnly(cause)
        ? { error: "interrupted", errorType: "interrupted" }
        : { error: Cause.pretty(cause).split("\n")[0] ?? "unexpected error", errorType: "other" }
  })

/**
 * Runs `call` as `agent`'s call of `tool`, in its span (with `attributes`), and records it:
 * ok, or error with its `errorType` (also set as the span's `error.type`), `interrupted`, or
 * `other` for a defect, which stays a defect.
 */
export const instrumentToolCall =
  (telemetry: Telemetry["Type"], agent: AgentName, tool: ToolName, attributes: Record<string, unknown> = {}) =>
  <A>(call: Effect.Effect<A, ToolError>): Effect.Effect<A, ToolError> =>
    // The clock read synchronously at both ends: two effects fewer per call than Clock.currentTimeNanos.
    Effect.withFiberRuntime<A, ToolError>((fiber) => {
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const start = clock.unsafeCurrentTimeNanos()
      return Effect.onExit(call, (exit) => {
        const durationSeconds = Number(clock.unsafeCurrentTimeNanos() - start) / 1e9
        if (Exit.isSuccess(exit)) return telemetry.recordToolCall({ agent, tool, status: "ok", durationSeconds })
        const failure = failureOf(exit.cause)
        return Effect.annotateCurrentSpan("error.type", failure.errorType).pipe(
          Effect.zipRight(telemetry.recordToolCall({ agent, tool, status: "error", durationSeconds, ...failure }))
        )
      })
    }).pipe(
      withTurnChildSpan(`execute_tool ${tool}`, {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool,
        "gen_ai.agent.name": agent,
        ...attributes
      })
    )
