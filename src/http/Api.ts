// The HTTP contract: every endpoint, who may call it, what it answers — and so the OpenAPI
// document, the router (HttpApiBuilder) and the access gate's route table, all from this one
// definition. Handlers live apart (ApiHandlers.ts).
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "@effect/platform"
import { Context, Schema } from "effect"
import { ChatRequest, ChatResponse, SessionId, TurnId } from "../domain/Chat.js"
import type { Principal } from "../domain/Principal.js"
import type { RouteAccess } from "./RouteTable.js"

export const API_VERSION = "0.1.0"

/** Who may call an endpoint: every endpoint declares it, and the gate refuses one that does not. */
export class EndpointAccess extends Context.Tag("security-agent/EndpointAccess")<EndpointAccess, RouteAccess>() {}

/** Who sends a request: the principal the access gate admitted, and the client's address. */
export interface Caller {
  readonly principal: Principal
  readonly clientAddress: string | undefined
}

/** The caller of the current request, for the handlers. */
export class CurrentCaller extends Context.Tag("security-agent/CurrentCaller")<CurrentCaller, Caller>() {}

/** RFC 9457 problem details, with the short code (`error`) and, for a 500, `trace_id` as extensions. */
export const ErrorBody = Schema.Struct({
  type: Schema.String.annotations({ description: '"about:blank": the status says it all' }),
  title: Schema.String.annotations({ description: "The HTTP status phrase" }),
  status: Schema.Number,
  detail: Schema.String.annotations({ description: "What happened and what to do next" }),
  error: Schema.String.annotations({ description: "Short machine-readable code, e.g. rate_limited" }),
  trace_id: Schema.optional(Schema.String)
}).pipe(HttpApiSchema.withEncoding({ kind: "Json", contentType: "application/problem+json" }))

const problem = (status: number, description: string) =>
  ErrorBody.annotations({ ...HttpApiSchema.annotations({ status }), description })

/**
 * Bearer tokens (ASSISTANT_API_TOKEN, ASSISTANT_API_TOKENS_FILE). The gate authenticates before
 * routing; this middleware hands its verdict to the handlers and declares the scheme.
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("security-agent/Authorization", {
  provides: CurrentCaller,
  failure: problem(401, "Missing or wrong bearer token"),
  security: { bearer: HttpApiSecurity.bearer }
}) {}

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
  session_id: SessionId,
  turn_id: TurnId,
  events: Schema.Array(TraceEventView)
})

const ProbeResult = Schema.Struct({ ok: Schema.Boolean, detail: Schema.String })

/** The body of /readyz, ready or not. */
export const Readiness = Schema.Struct({
  status: Schema.Literal("ready", "not_ready"),
  failed_checks: Schema.optional(Schema.Array(Schema.String)),
  checks: Schema.Record({ key: Schema.String, value: ProbeResult }),
  dependencies: Schema.Record({ key: Schema.String, value: ProbeResult })
})

const REFUSED_WITHOUT_TOKEN =
  "Without a token: a Host that is not loopback or allowed (DNS rebinding), or another site's Origin (cross-site request)"

class ChatGroup extends HttpApiGroup.make("chat")
  .add(
    HttpApiEndpoint.post("chat", "/v1/chat")
      .setPayload(ChatRequest)
      .addSuccess(ChatResponse)
      .addError(problem(400, "Malformed JSON, wrong or unknown fields, a bad session_id or a message over the limit"))
      .addError(problem(403, REFUSED_WITHOUT_TOKEN))
      .addError(problem(408, "The body did not arrive within ASSISTANT_API_BODY_TIMEOUT_SECONDS"))
      .addError(problem(409, "Another turn of this session is still running"))
      .addError(problem(413, "Body larger than ASSISTANT_API_MAX_BODY_BYTES"))
      .addError(
        problem(
          429,
          "More than ASSISTANT_API_RATE_LIMIT turns this minute for this principal; Retry-After says when to retry"
        )
      )
      .addError(problem(503, "The session store is unreachable"))
      .addError(problem(500, "The turn failed; trace_id identifies it"))
      .annotate(EndpointAccess, "viewer")
      .annotate(
        OpenApi.Description,
        "One turn of the conversation, for the caller's session. The body is read as JSON whatever the Content-Type (so `curl -d` works). Viewers chat with read-only tools; only operators may request and confirm WAF changes."
      )
  )
  .add(
    HttpApiEndpoint.get("turnTrace", "/v1/sessions/:session_id/turns/:turn_id/trace")
      .setPath(Schema.Struct({ session_id: SessionId, turn_id: TurnId }))
      .addSuccess(TurnTrace)
      .addError(problem(400, "A session or turn id that breaks the id rules"))
      .addError(problem(403, REFUSED_WITHOUT_TOKEN))
      .addError(
        problem(404, "No trace of that turn in the caller's sessions on this replica (unknown and foreign alike)")
      )
      .annotate(EndpointAccess, "viewer")
      .annotate(OpenApi.Description, "The trace events of one turn of one of the caller's sessions.")
  )
  .middleware(Authorization) {}

class OperationsGroup extends HttpApiGroup.make("operations")
  .add(
    HttpApiEndpoint.get("healthz", "/healthz")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
      .annotate(EndpointAccess, "public")
      .annotate(OpenApi.Description, "Liveness: the process answers.")
  )
  .add(
    HttpApiEndpoint.get("readyz", "/readyz")
      .addSuccess(Readiness.annotations({ description: "Every local check passed; dependencies as reported" }))
      .addError(
        Readiness.annotations({
          ...HttpApiSchema.annotations({ status: 503 }),
          description: "A local check (graph, knowledge base, session store) failed"
        })
      )
      .annotate(EndpointAccess, "public")
      .annotate(OpenApi.Description, "Readiness: local checks decide; dependencies are only reported.")
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      .annotate(EndpointAccess, "public")
      .annotate(
        OpenApi.Description,
        "Prometheus exposition of the service and agent metrics: text 0.0.4 by default; OpenMetrics 1.0 (application/openmetrics-text, with trace_id exemplars on the duration histograms) when the Accept header prefers it."
      )
  ) {}

export class SecurityAgentApi extends HttpApi.make("security-agent")
  .add(ChatGroup)
  .add(OperationsGroup)
  .annotate(OpenApi.Title, "security-agent")
  .annotate(OpenApi.Version, API_VERSION)
  .annotate(OpenApi.Description, "AI agents that operate the SafeLine WAF, observable turn by turn") {}
