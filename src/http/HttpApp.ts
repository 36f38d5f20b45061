// The HTTP application: the HttpApi contract served by HttpApiBuilder (with its OpenAPI document
// and the bundled Swagger UI), behind the access gate, which judges every request before any
// routing or handler; and the Node server it runs on.
import { createServer, type Server } from "node:http"
import { HttpApiBuilder, HttpApiSwagger, type HttpApp, HttpMiddleware } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { gateCaller, makeAccessGate, routesOfApi } from "./AccessGate.js"
import { SecurityAgentApi } from "./Api.js"
import { AuthorizationLive, ChatHandlersLive, OperationsHandlersLive } from "./ApiHandlers.js"
import { ApiTokens } from "./ApiTokens.js"
import { announceExposure, checkBinding } from "./Auth.js"
import { OpenApiDocumentLive } from "./OpenApiDocument.js"
import { RateLimiter } from "./RateLimiter.js"
import { parseRequestTarget } from "./RequestTarget.js"
import { matchRoute } from "./RouteTable.js"

/** Probes and scrapes make no request spans: they would drown the real traces. */
const UNTRACED = new Set(["/metrics", "/healthz", "/readyz"])

/**
 * HTTP server spans are named `{method} {route template}` (`POST /v1/chat`,
 * `GET /v1/sessions/:session_id/turns/:turn_id/trace`), never the raw path with its ids; a request
 * matching no route is just `{method}`, as the HTTP semantic conventions say.
 */
const httpSpanName = (): ((request: { readonly method: string; readonly url: string }) => string) => {
  const routes = routesOfApi()
  return (request) => {
    const target = parseRequestTarget(request.url)
    if (!target.ok) return request.method
    const match = matchRoute(routes, request.method, target.segments)
    return match._tag === "Matched" ? `${request.method} ${match.route.template}` : request.method
  }
}

/** The gate in front of the router: a refused request never reaches routing or a handler. */
const AccessGateLive = HttpApiBuilder.middleware(
  Effect.map(
    makeAccessGate,
    (gate) =>
      <E, R>(app: HttpApp.Default<E, R>) =>
        Effect.flatMap(gate, (verdict) =>
          verdict._tag === "Refused"
            ? Effect.succeed(verdict.response)
            : Effect.locally(app, gateCaller, Option.some(verdict.caller))
        )
  )
)

const ApiLive = HttpApiBuilder.api(SecurityAgentApi).pipe(
  Layer.provide([ChatHandlersLive, OperationsHandlersLive]),
  Layer.provide(AuthorizationLive)
)

/** Serves the app on whichever HttpServer is provided, with its token registry and rate limiter. */
export const HttpAppLive = HttpApiBuilder.serve().pipe(
  HttpMiddleware.withTracerDisabledWhen((request) => UNTRACED.has(request.url.split("?")[0] ?? "")),
  HttpMiddleware.withSpanNameGenerator(httpSpanName()),
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(OpenApiDocumentLive),
  Layer.provide(AccessGateLive),
  Layer.provide(ApiLive),
  Layer.provide(RateLimiter.layer),
  Layer.provideMerge(ApiTokens.layer)
)

/**
 * The Node server on ASSISTANT_API_HOST:ASSISTANT_API_PORT, refusing an unsafe binding; on
 * shutdown it stops accepting at once and cuts connections still open after the grace period.
 */
export const NodeServerLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const config = yield* AppConfig
    yield* checkBinding(config.api)
    yield* announceExposure(config.api)
    let server: Server | undefined
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        const grace = setTimeout(() => server?.closeAllConnections(), config.api.shutdownGraceSeconds * 1000)
        grace.unref()
      })
    )
    return NodeHttpServer.layer(
      () => {
        server = createServer()
        configureTimeouts(server, config.api.bodyTimeoutSeconds)
        return server
      },
      { host: config.api.host, port: config.api.port }
    )
  })
)

/**
 * Node's own limits, behind ours: headers must arrive quickly, and a request (headers + body)
 * is cut a little after ASSISTANT_API_BODY_TIMEOUT_SECONDS, once our JSON 408 had its chance.
 */
export const configureTimeouts = (server: Server, bodyTimeoutSeconds: number) => {
  server.headersTimeout = 20_000
  server.requestTimeout = Math.max(server.headersTimeout + 1000, (bodyTimeoutSeconds + 10) * 1000)
}
