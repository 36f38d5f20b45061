// Reads SafeLine's protection mode every WAF_MODE_POLL_INTERVAL_SECONDS for the
// `waf_protection_mode` gauge, so protection left at `disable` or `dry_run` ("off for the
// release") pages through SecurityAgentWafProtectionOff instead of being found in an incident.
import { Duration, Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { SafeLineClient } from "../safeline/SafeLineClient.js"
import { Telemetry } from "./Telemetry.js"

/** How long one read may take before it counts as failed. */
const READ_TIMEOUT = Duration.seconds(10)

/** One read of the mode into the gauge; a failure zeroes it and is logged, never raised. */
export const readWafProtectionMode = Effect.gen(function* () {
  const client = yield* SafeLineClient
  const telemetry = yield* Telemetry
  yield* client.getMode.pipe(
    Effect.timeoutFail({ duration: READ_TIMEOUT, onTimeout: () => "no answer within 10 s" }),
    Effect.matchEffect({
      onSuccess: (modules) => telemetry.recordWafProtectionModes(modules),
      onFailure: (error) =>
        Effect.logWarning("could not read SafeLine's protection mode for the waf_protection_mode gauge").pipe(
          Effect.annotateLogs("error", typeof error === "string" ? error : String(error.message ?? error)),
          Effect.zipRight(telemetry.recordWafProtectionModeReadFailure)
        )
    })
  )
})

/** The poller as a layer: reads at start, then every interval, in a fiber that ends with the scope. */
export const WafModePollerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { wafModePollSeconds } = (yield* AppConfig).observability
    if (wafModePollSeconds === 0) return
    yield* readWafProtectionMode.pipe(
      Effect.repeat(Schedule.spaced(Duration.seconds(wafModePollSeconds))),
      Effect.forkScoped
    )
  })
)
