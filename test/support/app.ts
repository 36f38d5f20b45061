// The whole agent for tests: real graph, offline reasoner, real SafeLine client against an
// in-process simulator on 127.0.0.1, in-memory sessions, trace sink and audit log.
import { createServer } from "node:http"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { ConfirmationGuard } from "../../src/agent/ConfirmationGuard.js"
import { Graph } from "../../src/agent/Graph.js"
import { Turn } from "../../src/agent/Turn.js"
import { HttpAppLive } from "../../src/http/HttpApp.js"
import { KnowledgeBase } from "../../src/knowledge/KnowledgeBase.js"
import { ProbesLive } from "../../src/observability/ProbesLive.js"
import type { Telemetry } from "../../src/observability/Telemetry.js"
import { makeOfflineReasoner, OfflineReasonerLive } from "../../src/reasoning/OfflineReasoner.js"
import { Reasoner } from "../../src/reasoning/Reasoner.js"
import { loadRoutingExamples } from "../../src/reasoning/RouteClassifier.js"
import { MemorySessionStore } from "../../src/sessions/MemorySessionStore.js"
import { SessionStoreLive } from "../../src/sessions/SessionStoreLive.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { RagSearchTool } from "../../src/tools/RagSearchTool.js"
import { SafeLineClient } from "../../src/tools/SafeLineClient.js"
import { SafeLineTools } from "../../src/tools/SafeLineTools.js"
import { testObservability } from "./layers.js"

export const SIMULATOR_TOKEN = "test-token"

/** A SafeLine client for the simulator of the same layer. */
const SimulatorClient = Layer.unwrapEffect(
  Effect.map(SafeLineSimulator, (simulator) =>
    SafeLineClient.layer({ baseUrl: simulator.url, token: simulator.token, timeoutSeconds: 5, retries: 1 })
  )
)

export interface TestAppOptions {
  /** A frozen simulator clock: traffic then changes only with `simulator.tick`. */
  readonly frozenClock?: boolean
  /** `redis`: sessions in the Redis of SESSION_STORE / REDIS_URL in `env`, as in production. */
  readonly sessionStore?: "memory" | "redis"
  /** Replaces the offline reasoner (a scripted one, say). */
  readonly reasoner?: Layer.Layer<Reasoner, never, Telemetry>
}

/** The offline reasoner with its routing answers scripted, one per turn (the last one repeats). */
export const scriptedRoutes = (...routes: ReadonlyArray<string>): Layer.Layer<Reasoner> => {
  let next = 0
  return Layer.succeed(Reasoner, {
    ...makeOfflineReasoner(loadRoutingExamples()),
    proposeRoute: () => Effect.sync(() => routes[Math.min(next++, routes.length - 1)]!)
  })
}

/** Turn, Graph, sessions, tools and the simulator, over in-memory observability. */
export const testApp = (env: Readonly<Record<string, string>> = {}, options: TestAppOptions = {}) => {
  const start = Date.now()
  const simulator = SafeLineSimulator.layer({
    token: SIMULATOR_TOKEN,
    seed: 7,
    historyMinutes: 30,
    ...(options.frozenClock === true ? { clock: () => start } : {})
  })
  const agentServices = Layer.mergeAll(
    SafeLineTools.layer.pipe(Layer.provide(SimulatorClient)),
    RagSearchTool.layer.pipe(Layer.provideMerge(KnowledgeBase.layer)),
    options.reasoner ?? OfflineReasonerLive,
    ConfirmationGuard.layer
  )
  return Layer.mergeAll(Turn.layer, ProbesLive).pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        Graph.layer,
        options.sessionStore === "redis" ? SessionStoreLive : MemorySessionStore.layer,
        agentServices
      )
    ),
    Layer.provideMerge(simulator),
    Layer.provideMerge(testObservability(env))
  )
}

/** The HTTP API of `testApp` on a random 127.0.0.1 port; `baseUrl` reaches it. */
export const testServer = (env: Readonly<Record<string, string>> = {}, options: TestAppOptions = {}) =>
  HttpAppLive.pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: 0 })),
    Layer.provideMerge(testApp(env, options))
  )

export const baseUrl = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)
