// `security-agent serve`: the HTTP API with every live layer (and the embedded SafeLine
// simulator when SAFELINE_URL is unset); SIGTERM drains in-flight turns and flushes the logs.
import { Command } from "@effect/cli"
import { HttpServer } from "@effect/platform"
import { Layer } from "effect"
import { AppLive } from "../app/AppLayer.js"
import { HttpAppLive, NodeServerLive } from "../http/HttpApp.js"

export const ServeLive = HttpAppLive.pipe(
  HttpServer.withLogAddress,
  Layer.provide(NodeServerLive),
  Layer.provide(AppLive)
)

export const serveCommand = Command.make("serve", {}, () => Layer.launch(ServeLive)).pipe(
  Command.withDescription("Start the HTTP API (embeds the SafeLine simulator when SAFELINE_URL is unset)")
)
