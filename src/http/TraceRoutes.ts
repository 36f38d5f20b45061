// GET /v1/sessions/:session_id/turns/:turn_id/trace: one turn's trace events, for a UI or the CLI.
// A principal reads only its own sessions: unknown and foreign turns answer the same 404.
import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { SESSION_ID_PATTERN, SESSION_ID_RULE, TURN_ID_PATTERN, TURN_ID_RULE } from "../domain/Chat.js"
import type { Principal } from "../domain/Principal.js"
import { TraceSink } from "../observability/TraceSink.js"
import { problem } from "./Problem.js"

export const turnTraceHandler = (principal: Principal, params: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const sessionId = params.session_id ?? ""
    const turnId = params.turn_id ?? ""
    if (!SESSION_ID_PATTERN.test(sessionId) || !TURN_ID_PATTERN.test(turnId)) {
      return problem(400, "invalid_path", `${SESSION_ID_RULE}; ${TURN_ID_RULE}`)
    }
    const events = yield* Effect.flatMap(TraceSink, (sink) => sink.eventsOfTurn(principal, sessionId, turnId))
    if (events.length === 0) {
      return problem(
        404,
        "trace_not_found",
        "no trace events for that turn of your sessions on this replica (recent turns only; see the JSONL file)"
      )
    }
    return HttpServerResponse.unsafeJson({ session_id: sessionId, turn_id: turnId, events })
  })
