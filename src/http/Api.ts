// The HTTP contract: request/response schemas and the HttpApi definition the OpenAPI document
// is generated from. Handlers live apart (ChatRoutes.ts, HealthRoutes.ts, TraceRoutes.ts).
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ChatRequest, ChatResponse, SessionId, TurnId } from "../domain/Chat.js"

/** RFC 9457 problem details, with the short code (`error`) and, for a 500, `trace_id` as extensions. */
export const ErrorBody = Schema.Struct({
  type: Schema.String.annotations({ description: '"about:blank": the status says it all' }),
  title: Schema.String.annotations({ description: "The HTTP status phrase" }),
  status: Schema.Number,
  detail: Schema.String.annotations({ description: "What happened and what to do next" }),
  error: Schema.String.annotations({ description: "Short machine-readable code, e.g. rate_limited" }),
  trace_id: Schema.optional(Schema.String)
})

export const TraceEventView = Schema.Struct({
  ts: Schema.String,
  event: Schema.String,
  trace_id: Schema.String,
  span_id: Schema.String,
  session_id: Schema.String,
  turn_id: Schema.String,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

export const TurnTrace = Schema.Struct({
  session_id: Schema.String,
  turn_id: Schema.String,
  events: Schema.Array(TraceEventView)
})

const error = (status: number, description: string) =>
  ErrorBody.annotations({ ...HttpApiSchema.annotations({ status }), description })

class ChatGroup extends HttpApiGroup.make("chat")
  .add(
    HttpApiEndpoint.post("chat", "/v1/chat")
      .setPayload(ChatRequest)
      .addSuccess(ChatResponse)
      .addError(error(400, "Malformed JSON, wrong field types, bad session_id or a message over the limit"))
      .addError(error(401, "Missing or wrong bearer token"))
      .addError(
        error(
          403,
          "Without a token: a Host that is not loopback or allowed (DNS rebinding), or another site's Origin (cross-site request); with one: a role below the route's"
        )
      )
      .addError(error(404, "No such endpoint (request targets are matched exactly: one spelling per route)"))
      .addError(error(408, "The body did not arrive within ASSISTANT_API_BODY_TIMEOUT_SECONDS"))
      .addError(error(409, "Another turn of this session is still running"))
      .addError(error(413, "Body larger than ASSISTANT_API_MAX_BODY_BYTES"))
      .addError(
        error(
          429,
          "More than ASSISTANT_API_RATE_LIMIT turns this minute for this principal; the Retry-After header says when to retry"
        )
      )
      .addError(error(503, "The session store is unreachable"))
      .addError(error(500, "The turn failed; the trace id identifies it"))
      .annotate(
        OpenApi.Description,
        "One turn of the conversation. The body is read as JSON whatever the Content-Type."
      )
  )
  .add(
    HttpApiEndpoint.get("turnTrace", "/v1/sessions/:session_id/turns/:turn_id/trace")
      .setPath(Schema.Struct({ session_id: SessionId, turn_id: TurnId }))
      .addSuccess(TurnTrace)
      .addError(error(401, "Missing or wrong bearer token"))
      .addError(error(403, "A request without a token from a Host or Origin that is not allowed"))
      .addError(
        error(404, "No trace of that turn in your sessions on this replica (unknown and foreign sessions alike)")
      )
  ) {}

class OpsGroup extends HttpApiGroup.make("operations")
  .add(HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Schema.Struct({ status: Schema.Literal("ok") })))
  .add(
    HttpApiEndpoint.get("readyz", "/readyz")
      .addSuccess(Schema.Unknown.annotations({ description: "Local checks and dependency reachability" }))
      .addError(
        Schema.Unknown.annotations({
          ...HttpApiSchema.annotations({ status: 503 }),
          description: "A local check failed"
        })
      )
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics").addSuccess(
      HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" })
    )
  ) {}

export class SecurityAgentApi extends HttpApi.make("security-agent")
  .add(ChatGroup)
  .add(OpsGroup)
  .annotate(OpenApi.Title, "security-agent")
  .annotate(OpenApi.Description, "AI agents that operate the SafeLine WAF, observable turn by turn") {}

export const openApiDocument = () => OpenApi.fromApi(SecurityAgentApi)
