// The handlers of the HttpApi contract, one group each, and the Authorization middleware that
// hands them the caller the access gate admitted (the gate has already refused everyone else).
import { HttpApiBuilder } from "@effect/platform"
import { Effect, FiberRef, Layer, Option } from "effect"
import { gateCaller } from "./AccessGate.js"
import { Authorization, CurrentCaller, SecurityAgentApi } from "./Api.js"
import { chatHandler } from "./ChatRoutes.js"
import { healthHandler, metricsHandler, readinessHandler } from "./HealthRoutes.js"
import { turnTraceHandler } from "./TraceRoutes.js"

export const AuthorizationLive = Layer.succeed(Authorization, {
  bearer: () =>
    Effect.flatMap(FiberRef.get(gateCaller), (caller) =>
      Option.match(caller, {
        // Unreachable through the gate; refuse rather than guess if it ever happens.
        onNone: () =>
          Effect.fail({
            type: "about:blank",
            title: "Unauthorized",
            status: 401,
            detail: "the request was not admitted by the access gate",
            error: "unauthorized"
          }),
        onSome: Effect.succeed
      })
    )
})

export const ChatHandlersLive = HttpApiBuilder.group(SecurityAgentApi, "chat", (handlers) =>
  handlers
    // Raw: the body is read (size limit, timeout, JSON whatever the Content-Type) by chatHandler.
    .handleRaw("chat", () => Effect.flatMap(CurrentCaller, chatHandler))
    .handle("turnTrace", ({ path }) =>
      Effect.flatMap(CurrentCaller, (caller) => turnTraceHandler(caller.principal, path))
    )
)

export const OperationsHandlersLive = HttpApiBuilder.group(SecurityAgentApi, "operations", (handlers) =>
  handlers
    .handleRaw("healthz", () => healthHandler)
    .handleRaw("readyz", () => readinessHandler)
    .handleRaw("metrics", () => metricsHandler)
)
