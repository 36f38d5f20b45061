// `security-agent eval` / `npm run eval`: routing accuracy with a confusion matrix on the
// held-out set, and grounding rate / citation validity of the Self-RAG loop.
import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { evaluateGrounding, formatGroundingReport } from "../eval/EvalGrounding.js"
import { evaluateRouting, formatRoutingReport } from "../eval/EvalRouting.js"

export const evalCommand = Command.make(
  "eval",
  { json: Options.boolean("json").pipe(Options.withDescription("Print the figures as JSON")) },
  ({ json }) =>
    Effect.gen(function* () {
      const routing = evaluateRouting()
      const grounding = yield* evaluateGrounding()
      if (json) {
        yield* Console.log(
          JSON.stringify({
            routing: {
              accuracy: routing.accuracy,
              total: routing.total,
              perRoute: routing.perRoute,
              confusion: routing.confusion
            },
            grounding: {
              groundingRate: grounding.groundingRate,
              citationValidity: grounding.citationValidity,
              escalationRate: grounding.escalationRate,
              sectionHitRate: grounding.sectionHitRate
            }
          })
        )
      } else {
        yield* Console.log(formatRoutingReport(routing))
        yield* Console.log("")
        yield* Console.log(formatGroundingReport(grounding))
      }
    })
).pipe(Command.withDescription("Evaluate routing accuracy and answer grounding on the bundled sets"))
