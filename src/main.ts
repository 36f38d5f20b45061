// The command line: `security-agent serve | chat | trace | simulator | ingest | eval | token | traffic`.
import { existsSync } from "node:fs"
import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { ConfigError, Console, Effect } from "effect"
import { chatCommand } from "./cli/ChatCommand.js"
import { evalCommand } from "./cli/EvalCommand.js"
import { ingestCommand } from "./cli/IngestCommand.js"
import { serveCommand } from "./cli/ServeCommand.js"
import { simulatorCommand } from "./cli/SimulatorCommand.js"
import { tokenCommand } from "./cli/TokenCommand.js"
import { traceCommand } from "./cli/TraceCommand.js"
import { trafficCommand } from "./cli/TrafficCommand.js"
import { describeConfigError } from "./config/AppConfig.js"

// A `.env` in the working directory fills in variables the environment does not set.
if (existsSync(".env")) process.loadEnvFile(".env")

const root = Command.make("security-agent").pipe(
  Command.withDescription("AI agents that operate the SafeLine WAF, observable turn by turn"),
  Command.withSubcommands([
    serveCommand,
    chatCommand,
    evalCommand,
    simulatorCommand,
    traceCommand,
    ingestCommand,
    tokenCommand,
    trafficCommand
  ])
)

const cli = Command.run(root, { name: "security-agent", version: "0.1.0" })

cli(process.argv).pipe(
  Effect.catchIf(ConfigError.isConfigError, (error) =>
    Console.error(describeConfigError(error)).pipe(
      Effect.zipRight(
        Effect.sync(() => {
          process.exitCode = 2
        })
      )
    )
  ),
  // Expected start-up failures (an unsafe binding, a port in use, SafeLine unreachable) are
  // reported as one sentence, not a stack trace; @effect/cli has already printed its own.
  Effect.catchAll((error) =>
    Effect.gen(function* () {
      if (!ValidationError.isValidationError(error)) {
        const message = (error as { message?: unknown }).message
        yield* Console.error(`security-agent: ${typeof message === "string" && message !== "" ? message : error._tag}`)
      }
      process.exitCode = 1
    })
  ),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false, disablePrettyLogger: true })
)
