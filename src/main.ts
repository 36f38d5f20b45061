// The command line: `security-agent serve | chat | trace | simulator | ingest | eval`.
import { existsSync } from "node:fs"
import { Command } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { ConfigError, Console, Effect } from "effect"
import { serveCommand } from "./cli/ServeCommand.js"
import { describeConfigError } from "./config/AppConfig.js"

// A `.env` in the working directory fills in variables the environment does not set.
if (existsSync(".env")) process.loadEnvFile(".env")

const root = Command.make("security-agent").pipe(
  Command.withDescription("AI agents that operate the SafeLine WAF, observable turn by turn"),
  Command.withSubcommands([serveCommand])
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
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
