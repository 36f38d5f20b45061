// `security-agent simulator --port P --token T`: a SafeLine stand-in (not a real WAF) serving the
// management API over plain HTTP, for demos and for pointing the agent at with SAFELINE_URL.
import { randomBytes } from "node:crypto"
import { Command, Options } from "@effect/cli"
import { Config, Console, Effect, Option } from "effect"
import { makeSimulator, readyLine, SimulatorStartError } from "../simulator/Simulator.js"

const port = Options.integer("port").pipe(
  Options.withDefault(9443),
  Options.withDescription("Port to listen on (0 picks a free one)")
)
const token = Options.text("token").pipe(
  Options.optional,
  Options.withDescription("API token clients must send as X-SLCE-API-TOKEN (default: SAFELINE_API_TOKEN, else random)")
)
/** An empty SAFELINE_API_TOKEN (as in .env.example) counts as unset. */
const envToken = Config.string("SAFELINE_API_TOKEN").pipe(Config.withDefault(""))
const seed = Options.integer("seed").pipe(
  Options.withDefault(1),
  Options.withDescription("Seed of the generated traffic: the same seed gives the same traffic")
)
const host = Options.text("host").pipe(
  Options.withDefault("127.0.0.1"),
  Options.withDescription("Address to listen on (keep 127.0.0.1 outside a container)")
)

export const simulatorCommand = Command.make("simulator", { port, token, seed, host }, (options) =>
  Effect.scoped(
    Effect.gen(function* () {
      if (Option.isSome(options.token) && options.token.value === "") {
        return yield* new SimulatorStartError({ message: "--token must not be empty: every client would be let in" })
      }
      const given = Option.isSome(options.token) ? options.token.value : yield* envToken
      const chosen = given || randomBytes(16).toString("hex")
      const simulator = yield* makeSimulator({
        port: options.port,
        token: chosen,
        seed: options.seed,
        host: options.host
      })
      yield* Console.log(readyLine(simulator.url))
      if (given === "") yield* Console.log(`Generated API token: ${chosen}`)
      return yield* Effect.never
    })
  ).pipe(
    // A port in use or an empty token is a user mistake: say so on stderr and exit 1, no stack trace.
    Effect.catchTag("SimulatorStartError", (error) =>
      Console.error(error.message).pipe(
        Effect.zipRight(
          Effect.sync(() => {
            process.exitCode = 1
          })
        )
      )
    )
  )
).pipe(Command.withDescription("Serve a SafeLine simulator (a stand-in for demos and tests, not a real WAF)"))
