// `security-agent serve`: the HTTP API with every live layer.
import { createServer } from "node:http"
import { Command } from "@effect/cli"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { ConfigLive, ObservabilityLive } from "../layers.js"
import { AgentMetrics } from "../observability/AgentMetrics.js"
import { PROMETHEUS_CONTENT_TYPE } from "../observability/Prometheus.js"
import { Telemetry } from "../observability/Telemetry.js"

const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/healthz",
    Effect.zipRight(
      Effect.flatMap(Telemetry, (t) => t.recordHealthCheck),
      HttpServerResponse.json({ status: "ok" })
    )
  ),
  HttpRouter.get(
    "/metrics",
    Effect.flatMap(AgentMetrics, (m) => m.exposition).pipe(
      Effect.map((body) => HttpServerResponse.text(body, { contentType: PROMETHEUS_CONTENT_TYPE }))
    )
  )
)

const ServerLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ api }) => NodeHttpServer.layer(createServer, { host: api.host, port: api.port }))
)

export const serveCommand = Command.make("serve", {}, () =>
  Layer.launch(
    HttpServer.serve(router).pipe(
      HttpServer.withLogAddress,
      Layer.provide(ServerLive),
      Layer.provide(ObservabilityLive),
      Layer.provide(ConfigLive)
    )
  )
).pipe(Command.withDescription("Start the HTTP API"))
