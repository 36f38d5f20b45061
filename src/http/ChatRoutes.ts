// POST /v1/chat: parse and validate the body (JSON whatever the Content-Type), run one turn for
// the caller, and map every outcome to the contract's status codes; records the chat metrics.
// Access (token, Host, Origin, role) was decided before this handler runs; the rate limit is here.
import { HttpServerResponse } from "@effect/platform"
import { Clock, Effect, Either, ParseResult, Schema } from "effect"
import { Turn } from "../agent/Turn.js"
import { AppConfig } from "../config/AppConfig.js"
import { ChatRequest, SESSION_ID_PATTERN, SESSION_ID_RULE } from "../domain/Chat.js"
import type { ChatRejectReason } from "../observability/Labels.js"
import { Telemetry } from "../observability/Telemetry.js"
import type { Caller } from "./Api.js"
import { problem } from "./Problem.js"
import { RateLimiter } from "./RateLimiter.js"
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
    return Either.left(reject(400, "invalid_session_id", SESSION_ID_RULE))
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

export const chatHandler = (caller: Caller) =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const config = yield* AppConfig
    const turn = yield* Turn
    const limiter = yield* RateLimiter
    const started = yield* Clock.currentTimeMillis
    yield* telemetry.recordChatRequest

    const rejected = (r: Rejection) =>
      Effect.as(telemetry.recordChatRejected(r.reason), problem(r.status, r.error, r.detail))

    const rate = yield* limiter.take(caller.principal.name)
    if (!rate.allowed) {
      yield* telemetry.recordChatRejected("rate_limited")
      yield* telemetry.recordAccessDenied("rate_limited")
      return problem(
        429,
        "rate_limited",
        `more than ASSISTANT_API_RATE_LIMIT turns this minute for ${caller.principal.name}; retry in ${rate.retryAfterSeconds} s`,
        {
          headers: { "retry-after": String(rate.retryAfterSeconds) }
        }
      )
    }

    const response = yield* readBodyText(config.api.maxBodyBytes, config.api.bodyTimeoutSeconds).pipe(
      Effect.flatMap((text) =>
        Either.match(parseChatBody(text, config.api.maxMessageChars), {
          onLeft: rejected,
          onRight: (request) =>
            turn
              .run({
                message: request.message,
                sessionId: request.session_id,
                principal: caller.principal,
                clientAddress: caller.clientAddress
              })
              .pipe(
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
                      problem(
                        503,
                        "session_store_unavailable",
                        `sessions cannot be loaded or saved right now (${error.message}); retry shortly`
                      )
                    ),
                  TurnFailed: (error) =>
                    Effect.logError("turn failed", error.cause).pipe(
                      Effect.zipRight(telemetry.recordChatFailure),
                      Effect.as(
                        problem(
                          500,
                          "chat_failed",
                          "the turn failed; the trace id identifies it in the logs and traces",
                          {
                            traceId: error.traceId
                          }
                        )
                      )
                    )
                })
              )
        })
      ),
      Effect.catchTags({
        BodyTooLarge: (error) =>
          rejected(reject(413, "body_too_large", `the body is larger than ${error.limit} bytes`, "body_too_large")),
        BodyUnreadable: (error) => rejected(reject(400, "invalid_json", error.detail)),
        BodyTimeout: (error) =>
          Effect.as(
            telemetry.recordChatRejected("body_timeout"),
            problem(
              408,
              "body_timeout",
              `the request body did not arrive within ${error.seconds} s (ASSISTANT_API_BODY_TIMEOUT_SECONDS)`,
              { headers: { connection: "close" } }
            )
          )
      }),
      Effect.catchAllDefect((defect) =>
        Effect.logError("chat handler defect", defect).pipe(
          Effect.zipRight(telemetry.recordChatFailure),
          Effect.as(problem(500, "chat_failed", "the request failed unexpectedly"))
        )
      )
    )
    yield* telemetry.recordChatLatency(((yield* Clock.currentTimeMillis) - started) / 1000)
    return response
  })
