// GET /v1/sessions/:session_id/turns/:turn_id/trace: one turn's trace events, for a UI or the CLI.
// The ids were checked by the access gate; a principal reads only its own sessions: unknown and
// foreign turns answer the same 404.
import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import type { Principal } from "../domain/Principal.js"
import { TraceSink } from "../observability/TraceSink.js"
import { problem } from "./Problem.js"

export const turnTraceHandler = (
  principal: Principal,
  path: { readonly session_id: string; readonly turn_id: string }
) =>
  Effect.gen(function* () {
    const events = yield* Effect.flatMap(TraceSink, (sink) =>
      sink.eventsOfTurn(principal, path.session_id, path.turn_id)
    )
    if (events.length === 0) {
      return problem(
        404,
        "trace_not_found",
        "no trace events for that turn of your sessions on this replica (recent turns only; see the JSONL file)"
      )
    }
    return HttpServerResponse.unsafeJson({ session_id: path.session_id, turn_id: path.turn_id, events })
  })
