// The readiness probes of the live app: graph, knowledge base and session store decide
// readiness; SafeLine, the LLM, Redis and the OTLP collector are only reported.
import { Effect, Layer, Option } from "effect"
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

export const ProbesLive = Layer.effect(
  Probes,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const graph = yield* Graph
    const knowledge = yield* KnowledgeBase
    const store = yield* SessionStore
    const tools = yield* SafeLineTools
    const reasoner = yield* Reasoner
    const storePing = store.ping.pipe(
      Effect.match({
        onFailure: (e) => down(e.message),
        onSuccess: () => ok(`${config.sessions.store} session store reachable`)
      })
    )
    const otlp = otlpTracesUrl(config.otel)
    // A hosted LLM is billed and rate-limited: ask it at most once a minute, whatever the probe rate.
    const llmProbe = yield* Effect.cachedWithTTL(
      reasoner.ping.pipe(
        Effect.match({
          onFailure: (e) => down(`${reasoner.provider} ${reasoner.model}: ${e.message}`),
          onSuccess: () => ok(`${reasoner.provider} ${reasoner.model} reachable`)
        })
      ),
      "60 seconds"
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
