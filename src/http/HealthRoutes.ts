// /healthz (the process answers), /readyz (local checks decide; dependencies are only reported)
// and /metrics (service and agent metrics in one Prometheus exposition; OpenMetrics with trace
// exemplars when the scraper's Accept asks for it).
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { AgentMetrics } from "../observability/AgentMetrics.js"
import { Probes } from "../observability/Probes.js"
import { negotiateExposition, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from "../observability/Prometheus.js"
import { Telemetry } from "../observability/Telemetry.js"

const PROBE_TIMEOUT = "2 seconds"

export const readinessHandler = Effect.gen(function* () {
  const telemetry = yield* Telemetry
  const probes = yield* Probes
  yield* telemetry.recordReadinessCheck
  const timed = <A extends { ok: boolean; detail: string }>(run: Effect.Effect<A>) =>
    run.pipe(
      Effect.timeoutTo({
        duration: PROBE_TIMEOUT,
        onTimeout: () => ({ ok: false, detail: "no answer within 2 s" }),
        onSuccess: (r) => r
      })
    )
  const [checks, dependencies] = yield* Effect.all(
    [
      Effect.forEach(probes.checks, (c) => Effect.map(timed(c.run), (r) => [c.check, r] as const), {
        concurrency: "unbounded"
      }),
      Effect.forEach(probes.dependencies, (d) => Effect.map(timed(d.run), (r) => [d.dependency, r] as const), {
        concurrency: "unbounded"
      })
    ],
    { concurrency: 2 }
  )
  const failed = checks.filter(([, r]) => !r.ok).map(([name]) => name)
  yield* Effect.forEach(failed, (check) => telemetry.recordReadinessFailure(check))
  yield* Effect.forEach(dependencies, ([dependency, r]) => telemetry.setDependencyUp(dependency, r.ok))
  return HttpServerResponse.unsafeJson(
    {
      status: failed.length === 0 ? "ready" : "not_ready",
      ...(failed.length === 0 ? {} : { failed_checks: failed }),
      checks: Object.fromEntries(checks),
      dependencies: Object.fromEntries(dependencies)
    },
    { status: failed.length === 0 ? 200 : 503 }
  )
})

export const healthHandler = Effect.flatMap(Telemetry, (t) => t.recordHealthCheck).pipe(
  Effect.as(HttpServerResponse.unsafeJson({ status: "ok" }))
)

export const metricsHandler = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const metrics = yield* AgentMetrics
  const format = negotiateExposition(request.headers.accept)
  const body = yield* metrics.render(format)
  return HttpServerResponse.text(body, {
    contentType: format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
    headers: { vary: "Accept" }
  })
})
