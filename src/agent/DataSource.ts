// Where a turn's WAF figures come from: the simulator (embedded, or recognised by its version),
// a non-production SafeLine (SAFELINE_ENVIRONMENT), or production. Replies with WAF figures carry
// one line saying so unless it is production; the chat response names it in `data_source`.
import { Effect, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { DataSourceName } from "../domain/Chat.js"
import { SafeLineTools } from "../tools/SafeLineTools.js"

export interface DataSource {
  readonly name: DataSourceName
  /** The one line a reply with WAF figures ends with; none for production. */
  readonly line: Option.Option<string>
}

export const currentDataSource: Effect.Effect<DataSource, never, AppConfig | SafeLineTools> = Effect.gen(function* () {
  const { safeline } = yield* AppConfig
  const tools = yield* SafeLineTools
  // No SAFELINE_URL means the embedded simulator, whether or not it has answered yet.
  const origin = Option.isNone(safeline.url) ? "simulator" : yield* tools.dataOrigin
  if (origin === "simulator") {
    return {
      name: "simulator",
      line: Option.some(
        "Data source: the SafeLine simulator (generated demo traffic, not a real WAF); set SAFELINE_URL to operate a real SafeLine."
      )
    }
  }
  if (safeline.environment !== "production") {
    return {
      name: "safeline_non_production",
      line: Option.some(`Data source: SafeLine ${safeline.environment} (not production).`)
    }
  }
  return { name: "safeline", line: Option.none() }
})

/** A reply with WAF figures, ending with the data-source line when the data is not production's. */
export const withDataSourceLine = (reply: string): Effect.Effect<string, never, AppConfig | SafeLineTools> =>
  Effect.map(currentDataSource, (source) =>
    Option.match(source.line, { onNone: () => reply, onSome: (line) => `${reply}\n\n${line}` })
  )
