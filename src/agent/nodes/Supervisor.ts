// The supervisor: routes each message to one specialist. While a change is pending, its
// confirmation, its cancel, and any assent without a valid code go to config_manager deterministically; anything else is the Reasoner's proposal,
// trusted only after the route guardrail parses it.
import { Effect } from "effect"
import type { SpecialistName } from "../../domain/Agents.js"
import { Telemetry } from "../../observability/Telemetry.js"
import { Reasoner } from "../../reasoning/Reasoner.js"
import { parseConfigIntent } from "../ConfigIntent.js"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"
import { parseRoute } from "../RouteParser.js"

export const supervisorNode = (state: TurnState) =>
  instrumentNode(
    "supervisor",
    Effect.gen(function* () {
      const telemetry = yield* Telemetry
      const intent = parseConfigIntent(state.message)
      let route: SpecialistName
      let rawRoute: string | undefined
      if (
        state.pendingAction !== null &&
        (intent.kind === "confirm" || intent.kind === "cancel" || intent.kind === "assent")
      ) {
        route = "config_manager"
        yield* telemetry.recordGuardrail({ gate: "route_parse", decision: "allow", reason: "pending_confirmation" })
      } else {
        const reasoner = yield* Reasoner
        rawRoute = yield* reasoner.proposeRoute(state.message, state.history)
        const parsed = parseRoute(rawRoute)
        if (parsed.ok) {
          route = parsed.route
          yield* telemetry.recordGuardrail({ gate: "route_parse", decision: "allow", reason: "allowed_token" })
        } else {
          route = "direct"
          yield* telemetry.recordGuardrail({
            gate: "route_parse",
            decision: "deny",
            reason: "invalid_token",
            metadata: { raw_route: rawRoute.slice(0, 200), fallback: "direct" }
          })
        }
      }
      yield* telemetry.recordRoute(route, rawRoute)
      yield* telemetry.recordHandoff("supervisor", route)
      return { next: route }
    })
  )
