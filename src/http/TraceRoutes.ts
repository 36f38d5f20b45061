// GET /v1/sessions/:session_id/turns/:turn_id/trace: one turn's trace events, for a UI or the CLI.
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { TraceSink } from "../observability/TraceSink.js"
import { SESSION_ID_PATTERN } from "./Api.js"

export const traceRoutes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/v1/sessions/:session_id/turns/:turn_id/trace",
    Effect.gen(function* () {
      const params = yield* HttpRouter.params
      const sessionId = params.session_id ?? ""
      const turnId = params.turn_id ?? ""
      if (!SESSION_ID_PATTERN.test(sessionId) || !/^[1-9]\d{0,9}$/.test(turnId)) {
        return HttpServerResponse.unsafeJson(
          {
            error: "invalid_path",
            detail: "session id must match [A-Za-z0-9._:-]{1,128} and turn id be a positive integer"
          },
          { status: 400 }
        )
      }
      const events = yield* Effect.flatMap(TraceSink, (sink) => sink.eventsOfTurn(sessionId, turnId))
      if (events.length === 0) {
        return HttpServerResponse.unsafeJson(
          {
            error: "trace_not_found",
            detail: "no trace events for that turn on this replica (recent turns only; see the JSONL file)"
          },
          { status: 404 }
        )
      }
      return HttpServerResponse.unsafeJson({ session_id: sessionId, turn_id: turnId, events })
    })
  )
)
