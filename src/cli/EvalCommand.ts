// `security-agent eval` / `npm run eval`: routing accuracy with a confusion matrix on the
// held-out set, and grounding rate / citation validity of the Self-RAG loop.
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { evaluateGrounding, formatGroundingReport } from "../eval/EvalGrounding.js"
import { evaluateModelRouting, formatModelRoutingReport, formatSideBySide } from "../eval/EvalModelRouting.js"
import { evaluateRouting, formatRoutingReport } from "../eval/EvalRouting.js"

export const evalCommand = Command.make(
  "eval",
  {
    json: Options.boolean("json").pipe(Options.withDescription("Print the figures as JSON")),
    provider: Options.choice("provider", ["openai", "google", "anthropic"]).pipe(
      Options.withDescription(
        "Also evaluate this language model (its settings from the environment: OPENAI_BASE_URL, OPENAI_MODEL, ...) beside the offline reasoner"
      ),
      Options.optional
    )
  },
  ({ json, provider }) =>
    Effect.gen(function* () {
      const routing = evaluateRouting()
      const grounding = yield* evaluateGrounding()
      const withModel = yield* Option.match(provider, {
        onNone: () => Effect.succeed(Option.none()),
        onSome: (p) =>
          Effect.map(
            Effect.all([evaluateModelRouting(p), evaluateGrounding(undefined, { provider: p })]),
            ([modelRouting, modelGrounding]) => Option.some({ routing: modelRouting, grounding: modelGrounding })
          )
      })
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
            },
            ...Option.match(withModel, {
              onNone: () => ({}),
              onSome: (m) => ({
                model: {
                  routing: m.routing,
                  grounding: {
                    groundingRate: m.grounding.groundingRate,
                    citationValidity: m.grounding.citationValidity,
                    escalationRate: m.grounding.escalationRate,
                    sectionHitRate: m.grounding.sectionHitRate
                  }
                }
              })
            })
          })
        )
      } else {
        yield* Console.log(formatRoutingReport(routing))
        yield* Console.log("")
        yield* Console.log(formatGroundingReport(grounding))
        if (Option.isSome(withModel)) {
          yield* Console.log("")
          yield* Console.log(formatModelRoutingReport(withModel.value.routing))
          yield* Console.log("")
          yield* Console.log(`Grounding with ${withModel.value.routing.provider} ${withModel.value.routing.model}:`)
          yield* Console.log(formatGroundingReport(withModel.value.grounding))
          yield* Console.log("")
          yield* Console.log(
            formatSideBySide({
              offline: { routingAccuracy: routing.accuracy, grounding },
              model: { ...withModel.value.routing, grounding: withModel.value.grounding }
            })
          )
        }
      }
    })
).pipe(Command.withDescription("Evaluate routing accuracy and answer grounding on the bundled sets"))
