// The readiness probes of the live app: graph, knowledge base and session store decide
// readiness; SafeLine, the LLM, Redis and the OTLP collector are only reported. The session check
// and the redis dependency share one PING per readiness request.
import { Clock, Deferred, Effect, FiberId, Layer, Option, Ref } from "effect"
import { Graph } from "../agent/Graph.js"
import { AppConfig } from "../config/AppConfig.js"
import { KnowledgeBase } from "../knowledge/KnowledgeBase.js"
import { otlpTracesUrl } from "../observability/Otlp.js"
import { type ProbeResult, Probes } from "../observability/Probes.js"
import { Reasoner } from "../reasoning/Reasoner.js"
import { SessionStore } from "../sessions/SessionStore.js"
import { SafeLineTools } from "../tools/SafeLineTools.js"

const ok = (detail: string): ProbeResult => ({ ok: true, detail })
const down = (detail: string): ProbeResult => ({ ok: false, detail })

/** Any HTTP answer means the collector is reachable; only a network failure counts as down. */
const httpReachable = (url: string) =>
  Effect.tryPromise((signal) =>
    fetch(url, { method: "POST", signal: AbortSignal.any([signal, AbortSignal.timeout(1500)]) })
  ).pipe(
    Effect.match({
      onFailure: () => down(`${url} is not reachable`),
      onSuccess: (r) => ok(`${url} answered HTTP ${r.status}`)
    })
  )

/**
 * Callers that arrive while a probe is in flight share its answer instead of asking again: the
 * readiness handler runs the checks and the dependencies side by side, so the session check and
 * the redis dependency make one PING. The next request asks afresh (never a stale answer).
 */
export const shareInFlight = (probe: Effect.Effect<ProbeResult>): Effect.Effect<ProbeResult> => {
  let inFlight: Deferred.Deferred<ProbeResult> | undefined
  return Effect.suspend(() => {
    if (inFlight !== undefined) return Deferred.await(inFlight)
    const answer = Deferred.unsafeMake<ProbeResult>(FiberId.none)
    inFlight = answer
    const settle = (result: ProbeResult) =>
      Effect.suspend(() => {
        if (inFlight === answer) inFlight = undefined
        return Deferred.succeed(answer, result)
      })
    return probe.pipe(
      Effect.tap(settle),
      // The first caller gave up (its timeout): the others get an answer, not an interruption.
      Effect.onInterrupt(() => settle(down("no answer: the probe was interrupted")))
    )
  })
}

export const ProbesLive = Layer.effect(
  Probes,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const graph = yield* Graph
    const knowledge = yield* KnowledgeBase
    const store = yield* SessionStore
    const tools = yield* SafeLineTools
    const reasoner = yield* Reasoner
    const storePing = shareInFlight(
      store.ping.pipe(
        Effect.match({
          onFailure: (e) => down(e.message),
          onSuccess: () => ok(`${config.sessions.store} session store reachable`)
        })
      )
    )
    const otlp = otlpTracesUrl(config.otel)
    // A hosted LLM is billed and rate-limited: a reachable one is asked at most once a minute,
    // whatever the probe rate; an unreachable one every few seconds, so its recovery shows soon.
    const llmPing = reasoner.ping.pipe(
      Effect.match({
        onFailure: (e) => down(`${reasoner.provider} ${reasoner.model}: ${e.message}`),
        onSuccess: () => ok(`${reasoner.provider} ${reasoner.model} reachable`)
      })
    )
    const llmLast = yield* Ref.make<{ readonly result: ProbeResult; readonly at: number } | undefined>(undefined)
    const llmOnce = yield* Effect.makeSemaphore(1)
    const llmProbe = llmOnce.withPermits(1)(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const last = yield* Ref.get(llmLast)
        if (last !== undefined && now - last.at < (last.result.ok ? 60_000 : 5_000)) return last.result
        const result = yield* llmPing
        yield* Ref.set(llmLast, { result, at: yield* Clock.currentTimeMillis })
        return result
      })
    )
    return {
      checks: [
        { check: "graph", run: Effect.succeed(ok(`${graph.nodes.length} nodes compiled`)) },
        {
          check: "knowledge_base",
          run: Effect.map(knowledge.stats, (s) =>
            s.chunks > 0
              ? ok(`${s.documents} documents, ${s.chunks} chunks${s.dense ? ", dense retrieval on" : ""}`)
              : down("no documents indexed")
          )
        },
        { check: "session_store", run: storePing }
      ],
      dependencies: [
        {
          dependency: "safeline",
          run: tools.ping.pipe(
            Effect.match({
              onFailure: (e) => down(e.message),
              onSuccess: (info) =>
                ok(
                  info.simulated
                    ? `embedded SafeLine simulator ${info.version} (a stand-in, not a real WAF)`
                    : `SafeLine ${info.version}`
                )
            })
          )
        },
        {
          dependency: "llm",
          run: reasoner.offline
            ? Effect.succeed(ok("offline reasoner (no LLM configured; LLM_PROVIDER=offline)"))
            : llmProbe
        },
        ...(config.sessions.store === "redis" ? [{ dependency: "redis" as const, run: storePing }] : []),
        ...Option.match(otlp, {
          onNone: () => [],
          onSome: (url) => [{ dependency: "otlp" as const, run: httpReachable(url) }]
        })
      ]
    }
  })
)
