// The HTTP application. Every request goes through one decision, in this order: the request
// target must be canonical (RequestTarget), it must name a route of the table below (404/405),
// and the route's own access rule decides who may call it (public, or a role, default deny) —
// so no spelling of a path can reach a handler its rule would refuse.
import { createServer, type Server } from "node:http"
import { HttpMiddleware, HttpServer, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { ANONYMOUS_PRINCIPAL, type Principal, roleAllows } from "../domain/Principal.js"
import type { AccessDeniedReason } from "../observability/Labels.js"
import { Telemetry } from "../observability/Telemetry.js"
import { ApiTokens } from "./ApiTokens.js"
import { announceExposure, checkBinding } from "./Auth.js"
import { checkBrowserHeaders, makeBrowserPolicy } from "./BrowserGuard.js"
import { type Caller, chatHandler } from "./ChatRoutes.js"
import { clientAddress, parseTrustedProxies } from "./ClientAddress.js"
import { docsPageHandler, openApiHandler } from "./DocsRoutes.js"
import { healthHandler, metricsHandler, readinessHandler } from "./HealthRoutes.js"
import { problem } from "./Problem.js"
import { RateLimiter } from "./RateLimiter.js"
import { parseRequestTarget } from "./RequestTarget.js"
import { matchRoute, type RouteSpec } from "./RouteTable.js"
import { turnTraceHandler } from "./TraceRoutes.js"

/** The routes: what exists, and who may call it. Nothing outside this table is served. */
export const ROUTES = [
  { name: "chat", method: "POST", template: "/v1/chat", access: "viewer" },
  { name: "turnTrace", method: "GET", template: "/v1/sessions/:session_id/turns/:turn_id/trace", access: "viewer" },
  { name: "healthz", method: "GET", template: "/healthz", access: "public" },
  { name: "readyz", method: "GET", template: "/readyz", access: "public" },
  { name: "metrics", method: "GET", template: "/metrics", access: "public" },
  { name: "openapi", method: "GET", template: "/openapi.json", access: "public" },
  { name: "docs", method: "GET", template: "/docs", access: "public" }
] as const satisfies ReadonlyArray<RouteSpec>

type RouteName = (typeof ROUTES)[number]["name"]

/** Probes and scrapes make no request spans: they would drown the real traces. */
const UNTRACED = new Set(["/metrics", "/healthz", "/readyz"])

const handlers = (name: RouteName, caller: Caller, params: Readonly<Record<string, string>>) => {
  switch (name) {
    case "chat":
      return chatHandler(caller)
    case "turnTrace":
      return turnTraceHandler(caller.principal, params)
    case "healthz":
      return healthHandler
    case "readyz":
      return readinessHandler
    case "metrics":
      return metricsHandler
    case "openapi":
      return openApiHandler
    case "docs":
      return docsPageHandler
  }
}

const bearerToken = (header: string | undefined): string | undefined =>
  header?.match(/^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i)?.[1]

const serveRequest = Effect.gen(function* () {
  const config = yield* AppConfig
  const telemetry = yield* Telemetry
  const tokens = yield* ApiTokens
  const browserPolicy = makeBrowserPolicy(config.api.allowedHosts, config.api.allowedOrigins)
  const proxies = parseTrustedProxies(config.api.trustedProxies)

  const denied = (
    reason: AccessDeniedReason,
    response: HttpServerResponse.HttpServerResponse,
    isChat: boolean,
    chatReason?: "unauthorized" | "forbidden"
  ) =>
    Effect.gen(function* () {
      yield* telemetry.recordAccessDenied(reason)
      if (isChat && chatReason !== undefined) {
        yield* telemetry.recordChatRequest
        yield* telemetry.recordChatRejected(chatReason)
      }
      return response
    })

  return Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const target = parseRequestTarget(request.url)
    if (!target.ok) {
      return yield* denied(
        "non_canonical_target",
        problem(400, "invalid_request_target", `${target.detail}; see /openapi.json for the routes`),
        false
      )
    }
    const match = matchRoute(ROUTES, request.method, target.segments)
    if (match._tag === "NotFound") return problem(404, "not_found", "no such endpoint; see /openapi.json")
    if (match._tag === "MethodNotAllowed") {
      return problem(405, "method_not_allowed", `this endpoint answers ${match.allow.join(", ")}`, {
        headers: { allow: match.allow.join(", ") }
      })
    }
    const route = match.route
    const isChat = route.name === "chat"
    const address = clientAddress(
      proxies,
      Option.getOrUndefined(request.remoteAddress),
      request.headers["x-forwarded-for"]
    )
    if (route.access === "public") {
      return yield* handlers(route.name, { principal: ANONYMOUS_PRINCIPAL, clientAddress: address }, match.params)
    }

    let principal: Principal
    if (tokens.required) {
      const token = bearerToken(request.headers.authorization)
      const found = token === undefined ? Option.none() : yield* tokens.authenticate(token)
      if (Option.isNone(found)) {
        return yield* denied(
          "unauthorized",
          problem(
            401,
            "unauthorized",
            "send Authorization: Bearer <token> (ASSISTANT_API_TOKEN or a tokens-file token)",
            { headers: { "www-authenticate": 'Bearer realm="security-agent"' } }
          ),
          isChat,
          "unauthorized"
        )
      }
      principal = found.value
    } else {
      // No token configured: only a local, same-origin caller is the anonymous operator.
      const browser = checkBrowserHeaders(browserPolicy, {
        host: request.headers.host,
        origin: request.headers.origin
      })
      if (!browser.ok)
        return yield* denied(browser.reason, problem(403, browser.reason, browser.detail), isChat, "forbidden")
      principal = ANONYMOUS_PRINCIPAL
    }
    if (!roleAllows(principal.role, route.access)) {
      return yield* denied(
        "forbidden_role",
        problem(403, "forbidden_role", `this endpoint needs the ${route.access} role`),
        isChat,
        "forbidden"
      )
    }
    yield* Effect.annotateCurrentSpan({
      "user.id": principal.name,
      "user.roles": [principal.role],
      ...(address === undefined ? {} : { "client.address": address })
    })
    return yield* handlers(route.name, { principal, clientAddress: address }, match.params)
    // The server runs the app uninterruptibly; handlers are interruptible (as HttpRouter's routes
    // are), so the timeouts inside a turn can interrupt a slow SafeLine or LLM call.
  }).pipe(Effect.interruptible)
})

/** Serves the app on whichever HttpServer is provided, with its token registry and rate limiter. */
export const HttpAppLive = Layer.unwrapEffect(Effect.map(serveRequest, (app) => HttpServer.serve(app))).pipe(
  HttpMiddleware.withTracerDisabledWhen((request) => UNTRACED.has(request.url.split("?")[0] ?? "")),
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
