// POST /v1/chat: parse and validate the body (JSON whatever the Content-Type), run one turn,
// and map every outcome to the contract's status codes; records the chat service metrics.
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Clock, Effect, Either, ParseResult, Schema } from "effect"
import { Turn } from "../agent/Turn.js"
import { AppConfig } from "../config/AppConfig.js"
import type { ChatRejectReason } from "../observability/Labels.js"
import { Telemetry } from "../observability/Telemetry.js"
import { ChatRequest, SESSION_ID_PATTERN } from "./Api.js"
import { readBodyText } from "./RawBody.js"

interface Rejection {
  readonly status: number
  readonly reason: ChatRejectReason
  readonly error: string
  readonly detail: string
}

const reject = (status: number, reason: ChatRejectReason, detail: string, error: string = reason): Rejection => ({
  status,
  reason,
  error,
  detail
})

const decodeChatRequest = Schema.decodeUnknownEither(ChatRequest, { onExcessProperty: "ignore" })

/** Turns the raw body into a validated request, or the rejection a client should see. */
export const parseChatBody = (
  text: string,
  maxMessageChars: number
): Either.Either<typeof ChatRequest.Type, Rejection> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(reject(400, "invalid_json", `the body is not valid JSON: ${(error as Error).message}`))
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left(reject(400, "invalid_body", 'the body must be a JSON object like {"message": "..."}'))
  }
  const sessionId = (json as Record<string, unknown>).session_id
  if (sessionId !== undefined && (typeof sessionId !== "string" || !SESSION_ID_PATTERN.test(sessionId))) {
    return Either.left(reject(400, "invalid_session_id", "session_id must be 1-128 characters of [A-Za-z0-9._:-]"))
  }
  // Checked before the schema: decoding a deeply nested non-string `message` would overflow the
  // stack while describing the value in the error (a 500 instead of a 400).
  if (typeof (json as Record<string, unknown>).message !== "string") {
    return Either.left(reject(400, "invalid_body", 'message must be a string: send {"message": "..."}'))
  }
  const decoded = decodeChatRequest(json)
  if (Either.isLeft(decoded)) {
    return Either.left(
      reject(
        400,
        "invalid_body",
        ParseResult.TreeFormatter.formatErrorSync(decoded.left).replace(/\s+/g, " ").slice(0, 300)
      )
    )
  }
  const message = decoded.right.message
  if (message.trim() === "") return Either.left(reject(400, "invalid_body", "message must not be empty"))
  if (message.length > maxMessageChars) {
    return Either.left(reject(400, "message_too_long", `message is longer than ${maxMessageChars} characters`))
  }
  return Either.right(decoded.right)
}

const json = (status: number, body: unknown) => HttpServerResponse.unsafeJson(body, { status })

export const chatHandler = Effect.gen(function* () {
  const telemetry = yield* Telemetry
  const config = yield* AppConfig
  const turn = yield* Turn
  const started = yield* Clock.currentTimeMillis
  yield* telemetry.recordChatRequest

  const rejected = (r: Rejection) =>
    Effect.as(telemetry.recordChatRejected(r.reason), json(r.status, { error: r.error, detail: r.detail }))

  const response = yield* readBodyText(config.api.maxBodyBytes).pipe(
    Effect.flatMap((text) =>
      Either.match(parseChatBody(text, config.api.maxMessageChars), {
        onLeft: rejected,
        onRight: (request) =>
          turn.run({ message: request.message, sessionId: request.session_id }).pipe(
            Effect.map((result) => json(200, result)),
            Effect.catchTags({
              SessionBusy: () =>
                rejected(
                  reject(
                    409,
                    "session_busy",
                    "another turn of this session is still running; retry when it has answered",
                    "session_busy"
                  )
                ),
              SessionStoreUnavailable: (error) =>
                Effect.as(
                  telemetry.recordChatRejected("session_store_unavailable"),
                  json(503, {
                    error: "session_store_unavailable",
                    detail: `sessions cannot be loaded or saved right now (${error.message}); retry shortly`
                  })
                ),
              TurnFailed: (error) =>
                Effect.logError("turn failed", error.cause).pipe(
                  Effect.zipRight(telemetry.recordChatFailure),
                  Effect.as(json(500, { error: "chat_failed", trace_id: error.traceId }))
                )
            })
          )
      })
    ),
    Effect.catchTags({
      BodyTooLarge: (error) =>
        rejected(reject(413, "body_too_large", `the body is larger than ${error.limit} bytes`, "body_too_large")),
      BodyUnreadable: (error) => rejected(reject(400, "invalid_json", error.detail))
    }),
    Effect.catchAllDefect((defect) =>
      Effect.logError("chat handler defect", defect).pipe(
        Effect.zipRight(telemetry.recordChatFailure),
        Effect.as(json(500, { error: "chat_failed" }))
      )
    )
  )
  yield* telemetry.recordChatLatency(((yield* Clock.currentTimeMillis) - started) / 1000)
  return response
})

export const chatRoutes = HttpRouter.empty.pipe(HttpRouter.post("/v1/chat", chatHandler))
