import { describe, expect, it } from "@effect/vitest"
import { ConfigError, Effect, Either, Option, Redacted } from "effect"
import { AppConfig, describeConfigError } from "../../src/config/AppConfig.js"

const load = (env: Record<string, string>) => Effect.provide(AppConfig, AppConfig.layerWith(env))

const loadError = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const result = yield* Effect.either(load(env))
    if (Either.isRight(result)) throw new Error("expected a configuration error")
    expect(ConfigError.isConfigError(result.left)).toBe(true)
    return describeConfigError(result.left)
  })

describe("AppConfig", () => {
  it.effect("has the documented defaults", () =>
    Effect.gen(function* () {
      const config = yield* load({})
      expect(config.observability).toEqual({
        enabled: true,
        metricsNamespace: "security_agent",
        traceJsonlPath: "data/logs/agent-traces.jsonl",
        traceCaptureContent: false,
        traceQueueSize: 50000,
        traceMaxFileBytes: 100 * 1024 * 1024,
        traceMaxFiles: 5,
        auditEnabled: true,
        auditPath: "data/logs/guardrails.jsonl",
        auditChangesPath: "data/logs/waf-changes.jsonl",
        logLevel: "info",
        logFormat: "logfmt",
        buildRevision: "",
        llmPrices: {},
        wafModePollSeconds: 60
      })
      expect(config.api.host).toBe("127.0.0.1")
      expect(config.api.port).toBe(8081)
      expect(config.llm.provider).toBe("offline")
      expect(Option.isNone(config.safeline.url)).toBe(true)
      expect(config.safeline.timeoutSeconds).toBe(10)
      expect(config.safeline.environment).toBe("production")
      expect(config.guardrails).toEqual({
        confirmationTtlSeconds: 300,
        confirmationMaxAttempts: 3,
        codeKey: Option.none(),
        codeKeyFile: Option.none(),
        codeFailureLimit: 10,
        codeFailureWindowSeconds: 900,
        blacklistMinPrefixV4: 16,
        blacklistMinPrefixV6: 48,
        maxHops: 3
      })
      expect(Option.isNone(config.api.rateLimit)).toBe(true)
      expect(config.api.bodyTimeoutSeconds).toBe(10)
      expect(config.api.allowedHosts).toEqual([])
      expect(config.otel.protocol).toBe("http/protobuf")
      expect(config.otel.serviceName).toBe("security-agent")
      expect(config.sessions.store).toBe("memory")
    })
  )

  it.effect("takes overrides and keeps secrets redacted", () =>
    Effect.gen(function* () {
      const config = yield* load({
        AGENT_OBSERVABILITY_ENABLED: "false",
        AGENT_METRICS_NAMESPACE: "waf_team",
        ASSISTANT_API_PORT: "9000",
        ASSISTANT_API_TOKEN: "s3cret,older",
        ASSISTANT_API_RATE_LIMIT: "30",
        ASSISTANT_API_ALLOWED_HOSTS: "agent.internal, ,console.example",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        LLM_PROVIDER: "openai",
        SAFELINE_URL: "https://waf.example:9443",
        SAFELINE_API_TOKEN: "tok"
      })
      expect(config.observability.enabled).toBe(false)
      expect(config.observability.metricsNamespace).toBe("waf_team")
      expect(config.api.port).toBe(9000)
      expect(config.api.rateLimit).toEqual(Option.some(30))
      expect(config.api.allowedHosts).toEqual(["agent.internal", "console.example"])
      expect(config.otel.protocol).toBe("http/json")
      expect(config.llm.provider).toBe("openai")
      const token = Option.getOrThrow(config.api.tokens)
      expect(String(token)).not.toContain("s3cret")
      expect(Redacted.value(token)).toBe("s3cret,older")
      expect(JSON.stringify(config)).not.toContain('tok"')
    })
  )

  it.effect("names the variable when a value is malformed", () =>
    Effect.gen(function* () {
      expect(yield* loadError({ ASSISTANT_API_PORT: "abc" })).toContain("ASSISTANT_API_PORT")
      expect(yield* loadError({ AGENT_OBSERVABILITY_ENABLED: "maybe" })).toContain("AGENT_OBSERVABILITY_ENABLED")
      expect(yield* loadError({ AGENT_TRACE_QUEUE_SIZE: "-1" })).toContain("AGENT_TRACE_QUEUE_SIZE")
      expect(yield* loadError({ AGENT_METRICS_NAMESPACE: "bad-name" })).toContain("AGENT_METRICS_NAMESPACE")
      expect(yield* loadError({ LLM_PROVIDER: "skynet" })).toContain("LLM_PROVIDER")
      expect(yield* loadError({ BLACKLIST_MIN_PREFIX_V4: "40" })).toContain("BLACKLIST_MIN_PREFIX_V4")
      expect((yield* load({ AGENT_MAX_HOPS: "8" })).guardrails.maxHops).toBe(8)
      expect(yield* loadError({ AGENT_MAX_HOPS: "0" })).toContain("AGENT_MAX_HOPS")
      expect(yield* loadError({ AGENT_MAX_HOPS: "9" })).toContain("AGENT_MAX_HOPS")
      const grpc = yield* loadError({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })
      expect(grpc).toContain("OTEL_EXPORTER_OTLP_PROTOCOL")
      expect(grpc).toContain("grpc is not supported")
    })
  )
})

describe("ASSISTANT_API_RATE_LIMIT", () => {
  it.effect("0 is off, a non-number names the variable", () =>
    Effect.gen(function* () {
      expect((yield* load({ ASSISTANT_API_RATE_LIMIT: "0" })).api.rateLimit).toEqual(Option.some(0))
      expect(yield* loadError({ ASSISTANT_API_RATE_LIMIT: "-3" })).toMatch(/ASSISTANT_API_RATE_LIMIT/)
      expect(yield* loadError({ ASSISTANT_API_RATE_LIMIT: "lots" })).toMatch(/ASSISTANT_API_RATE_LIMIT/)
    })
  )
})

describe("ASSISTANT_API_TRUSTED_PROXIES", () => {
  it.effect("takes addresses and CIDRs, and names the variable for anything else", () =>
    Effect.gen(function* () {
      const config = yield* load({ ASSISTANT_API_TRUSTED_PROXIES: "10.0.0.0/8, 192.168.1.10,::1" })
      expect(config.api.trustedProxies).toEqual(["10.0.0.0/8", "192.168.1.10", "::1"])
      const error = yield* loadError({ ASSISTANT_API_TRUSTED_PROXIES: "10.0.0.0/8,ingress-nginx" })
      expect(error).toMatch(/ASSISTANT_API_TRUSTED_PROXIES/)
      expect(error).toMatch(/ingress-nginx/)
    })
  )
})

describe(".env.example", () => {
  it.effect("loads as is (empty values mean unset) and yields the defaults", () =>
    Effect.gen(function* () {
      const { readFileSync } = yield* Effect.promise(() => import("node:fs"))
      const env: Record<string, string> = {}
      for (const line of readFileSync(new URL("../../.env.example", import.meta.url), "utf8").split("\n")) {
        const m = line.match(/^([A-Z0-9_]+)=(.*)$/)
        if (m) env[m[1]!] = m[2]!
      }
      const fromExample = yield* load(env)
      const defaults = yield* load({})
      expect(JSON.stringify(fromExample)).toBe(JSON.stringify(defaults))
      expect(Option.isNone(fromExample.safeline.url)).toBe(true)
      expect(Option.isNone(fromExample.api.tokens)).toBe(true)
    })
  )
})
