// The HTTP application: every route, auth on /v1/*, JSON 404s, and no request spans for the
// probe and scrape endpoints (they would drown the real traces).
import { createServer, type Server } from "node:http"
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { authMiddleware, checkBinding, configuredTokens } from "./Auth.js"
import { chatRoutes } from "./ChatRoutes.js"
import { docsRoutes } from "./DocsRoutes.js"
import { healthRoutes } from "./HealthRoutes.js"
import { traceRoutes } from "./TraceRoutes.js"

const UNTRACED = new Set(["/metrics", "/healthz", "/readyz"])

export const router = HttpRouter.concatAll(chatRoutes, traceRoutes, healthRoutes, docsRoutes)

const notFound = HttpServerResponse.unsafeJson(
  { error: "not_found", detail: "no such endpoint; see /openapi.json" },
  { status: 404 }
)

/** Serves the app, with auth from the config, on whichever HttpServer is provided. */
export const HttpAppLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    HttpServer.serve(
      authMiddleware(configuredTokens(config.api))(
        router.pipe(Effect.catchTag("RouteNotFound", () => Effect.succeed(notFound)))
      ),
      HttpMiddleware.xForwardedHeaders
    )
  )
).pipe(HttpMiddleware.withTracerDisabledWhen((request) => UNTRACED.has(request.url.split("?")[0] ?? "")))

/**
 * The Node server on ASSISTANT_API_HOST:ASSISTANT_API_PORT, refusing an unsafe binding; on
 * shutdown it stops accepting at once and cuts connections still open after the grace period.
 */
export const NodeServerLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const config = yield* AppConfig
    yield* checkBinding(config.api)
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
        return server
      },
      { host: config.api.host, port: config.api.port }
    )
  })
)
