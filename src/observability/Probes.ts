// What /readyz asks: local checks that take a replica out of service when they fail, and
// dependency probes that are only reported. Built from the services by app/ProbesLive.ts.
import { Context, type Effect } from "effect"
import type { Dependency, ReadinessCheck } from "./Labels.js"

export interface ProbeResult {
  readonly ok: boolean
  readonly detail: string
}

export interface ProbesService {
  readonly checks: ReadonlyArray<{ readonly check: ReadinessCheck; readonly run: Effect.Effect<ProbeResult> }>
  readonly dependencies: ReadonlyArray<{ readonly dependency: Dependency; readonly run: Effect.Effect<ProbeResult> }>
}

export class Probes extends Context.Tag("security-agent/Probes")<Probes, ProbesService>() {}
