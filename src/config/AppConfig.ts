// Every setting of the product, read once through Effect `Config` (env, plus `.env` loaded by
// main), grouped by concern; secrets stay `Redacted` so they never print by accident.

import { Config, ConfigError, ConfigProvider, Context, Effect, Either, Layer, type Option, type Redacted } from "effect"
import ipaddr from "ipaddr.js"
import { legacyEnv, logLegacyNotes, withOverrides } from "./LegacyEnv.js"

const LLM_PROVIDERS = ["offline", "openai", "google", "anthropic"] as const
const OPENAI_RESPONSE_FORMATS = ["json_schema", "json_object", "none"] as const
const SESSION_STORES = ["memory", "redis"] as const
const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const

export interface AppSettings {
  readonly llm: {
    readonly provider: (typeof LLM_PROVIDERS)[number]
    readonly openaiApiKey: Option.Option<Redacted.Redacted>
    readonly openaiModel: string
    readonly openaiBaseUrl: Option.Option<string>
    readonly googleApiKey: Option.Option<Redacted.Redacted>
    readonly googleModel: string
    readonly anthropicApiKey: Option.Option<Redacted.Redacted>
    readonly anthropicModel: string
    readonly timeoutSeconds: number
    readonly maxRetries: number
    /** The model's context window in tokens: prompts (history first) are trimmed to fit it. */
    readonly contextTokens: number
    /** How routes are asked for from an OpenAI-compatible server: `json_schema`, `json_object` (llama.cpp) or `none`. */
    readonly openaiResponseFormat: (typeof OPENAI_RESPONSE_FORMATS)[number]
  }
  readonly safeline: {
    readonly url: Option.Option<string>
    readonly apiToken: Option.Option<Redacted.Redacted>
    readonly verifyTls: boolean
    readonly caBundle: Option.Option<string>
    readonly timeoutSeconds: number
    readonly retries: number
    /** `production`, or the name of a non-production SafeLine (staging, lab): replies then say so. */
    readonly environment: string
  }
  readonly rag: {
    readonly selfragMaxAttempts: number
    readonly selfragMinCitations: number
    readonly docsDir: string
    readonly embeddingsBaseUrl: Option.Option<string>
    readonly embeddingsModel: string
    readonly embeddingsApiKey: Option.Option<Redacted.Redacted>
  }
  readonly guardrails: {
    readonly confirmationTtlSeconds: number
    readonly confirmationMaxAttempts: number
    /** HMAC key of stored confirmation codes (ASSISTANT_CODE_KEY, or the file ASSISTANT_CODE_KEY_FILE). */
    readonly codeKey: Option.Option<Redacted.Redacted>
    readonly codeKeyFile: Option.Option<string>
    /** Wrong codes one principal may send within the window, across change requests, before it is throttled. */
    readonly codeFailureLimit: number
    readonly codeFailureWindowSeconds: number
    readonly blacklistMinPrefixV4: number
    readonly blacklistMinPrefixV6: number
    /** Specialist steps one turn may run (AGENT_MAX_HOPS): a longer plan is cut, and the cut is a guardrail decision. */
    readonly maxHops: number
  }
  readonly api: {
    readonly host: string
    readonly port: number
    readonly tokens: Option.Option<Redacted.Redacted>
    /** `name:role:sha256-of-token` lines, reloaded when the file changes. */
    readonly tokensFile: Option.Option<string>
    readonly allowUnauthenticated: boolean
    /** Extra Host names (beyond loopback) an unauthenticated request may carry. */
    readonly allowedHosts: ReadonlyArray<string>
    /** Extra Origins (beyond the server's own) an unauthenticated request may carry. */
    readonly allowedOrigins: ReadonlyArray<string>
    /** CIDRs whose X-Forwarded-For is believed; empty: never. */
    readonly trustedProxies: ReadonlyArray<string>
    /** Turns per minute per principal on /v1/chat; None: the default (120 with tokens, off without). */
    readonly rateLimit: Option.Option<number>
    readonly bodyTimeoutSeconds: number
    readonly maxBodyBytes: number
    readonly maxMessageChars: number
    readonly turnWaitSeconds: number
    readonly shutdownGraceSeconds: number
  }
  readonly sessions: {
    readonly store: (typeof SESSION_STORES)[number]
    readonly redisUrl: Option.Option<Redacted.Redacted>
    readonly ttlSeconds: number
    readonly maxSessions: number
    readonly historyMessages: number
  }
  readonly observability: {
    readonly enabled: boolean
    readonly metricsNamespace: string
    readonly traceJsonlPath: string
    readonly traceCaptureContent: boolean
    readonly traceQueueSize: number
    readonly traceMaxFileBytes: number
    readonly traceMaxFiles: number
    readonly auditEnabled: boolean
    readonly auditPath: string
    /** WAF change records: written and fsynced before a change, never rotated away. */
    readonly auditChangesPath: string
    readonly logLevel: string
    /** logfmt (terminals) or json (one object per line, with the turn's trace, span, session and turn ids). */
    readonly logFormat: "logfmt" | "json"
    /** The source revision the image was built from (BUILD_REVISION), for the build_info metric. */
    readonly buildRevision: string
    /** US dollars per million tokens, by model (LLM_PRICES); a model not listed costs 0. */
    readonly llmPrices: Readonly<Record<string, LlmPrice>>
    /** Seconds between reads of SafeLine's protection mode for its gauge (0: never read). */
    readonly wafModePollSeconds: number
  }
  readonly otel: {
    readonly endpoint: Option.Option<string>
    readonly tracesEndpoint: Option.Option<string>
    readonly protocol: (typeof OTLP_PROTOCOLS)[number]
    readonly serviceName: string
    readonly resourceAttributes: Option.Option<string>
  }
}

const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "Expected a positive integer", validation: (n) => n > 0 }),
    Config.withDefault(fallback)
  )

const nonNegativeInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "Expected an integer >= 0", validation: (n) => n >= 0 }),
    Config.withDefault(fallback)
  )

/** An optional count where 0 means off; empty counts as unset (as in a copied .env.example). */
const optionalCount = (name: string, meaning: string) =>
  Config.option(
    Config.nonEmptyString(name).pipe(
      Config.mapOrFail((text) =>
        /^\d{1,9}$/.test(text.trim())
          ? Either.right(Number(text.trim()))
          : Either.left(ConfigError.InvalidData([name], `Expected an integer >= 0 (${meaning}) but received ${text}`))
      )
    )
  )

const positiveNumber = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.validate({ message: "Expected a number > 0", validation: (n) => n > 0 }),
    Config.withDefault(fallback)
  )

const prefixLength = (name: string, fallback: number, max: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `Expected a prefix length from 0 to ${max}`, validation: (n) => n >= 0 && n <= max }),
    Config.withDefault(fallback)
  )

const boundedInt = (name: string, fallback: number, min: number, max: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `Expected an integer from ${min} to ${max}`, validation: (n) => n >= min && n <= max }),
    Config.withDefault(fallback)
  )

const optionalString = (name: string) => Config.option(Config.nonEmptyString(name))

/** A comma-separated list; empty items are ignored, unset is the empty list. */
const commaList = (name: string) =>
  Config.string(name).pipe(
    Config.map((text) =>
      text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "")
    ),
    Config.withDefault([] as ReadonlyArray<string>)
  )
const optionalSecret = (name: string) => Config.option(Config.redacted(Config.nonEmptyString(name)))

const metricsNamespace = Config.string("AGENT_METRICS_NAMESPACE").pipe(
  Config.validate({
    message: "Expected a Prometheus metric name prefix ([a-zA-Z_][a-zA-Z0-9_]*)",
    validation: (s) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(s)
  }),
  Config.withDefault("security_agent")
)

export interface LlmPrice {
  readonly inputPerMillion: number
  readonly outputPerMillion: number
}

/** `model=input:output,...` in US dollars per million tokens; unset or empty: every model costs 0 (self-hosted). */
const llmPrices = Config.string("LLM_PRICES").pipe(
  Config.withDefault(""),
  Config.mapOrFail((text) => {
    const prices: Record<string, LlmPrice> = {}
    for (const entry of text.split(",").map((e) => e.trim())) {
      if (entry === "") continue
      const m = entry.match(/^([^=\s]+)=(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/)
      if (m === null) {
        return Either.left(
          ConfigError.InvalidData(
            ["LLM_PRICES"],
            `Expected model=input:output (US dollars per million tokens), e.g. gpt-4o-mini=0.15:0.6, but received ${entry}`
          )
        )
      }
      prices[m[1]!] = { inputPerMillion: Number(m[2]), outputPerMillion: Number(m[3]) }
    }
    return Either.right(prices)
  })
)

/** `grpc` is a valid OTLP protocol that we do not ship an exporter for: say so precisely. */
const otlpProtocol = Config.string("OTEL_EXPORTER_OTLP_PROTOCOL").pipe(
  Config.withDefault("http/protobuf"),
  Config.mapOrFail((value) =>
    (OTLP_PROTOCOLS as ReadonlyArray<string>).includes(value)
      ? Either.right(value as (typeof OTLP_PROTOCOLS)[number])
      : Either.left(
          ConfigError.InvalidData(
            ["OTEL_EXPORTER_OTLP_PROTOCOL"],
            value === "grpc"
              ? "grpc is not supported; use http/protobuf (port 4318) or http/json"
              : `Expected one of ${OTLP_PROTOCOLS.join(", ")} but received ${value}`
          )
        )
  )
)

export const appSettingsConfig: Config.Config<AppSettings> = Config.all({
  llm: Config.all({
    provider: Config.literal(...LLM_PROVIDERS)("LLM_PROVIDER").pipe(Config.withDefault("offline" as const)),
    openaiApiKey: optionalSecret("OPENAI_API_KEY"),
    openaiModel: Config.string("OPENAI_MODEL").pipe(Config.withDefault("gpt-4o-mini")),
    openaiBaseUrl: optionalString("OPENAI_BASE_URL"),
    googleApiKey: optionalSecret("GOOGLE_API_KEY"),
    googleModel: Config.string("GOOGLE_MODEL").pipe(Config.withDefault("gemini-2.0-flash")),
    anthropicApiKey: optionalSecret("ANTHROPIC_API_KEY"),
    anthropicModel: Config.string("ANTHROPIC_MODEL").pipe(Config.withDefault("claude-3-5-haiku-latest")),
    timeoutSeconds: positiveNumber("LLM_TIMEOUT_SECONDS", 30),
    maxRetries: nonNegativeInt("LLM_MAX_RETRIES", 2),
    contextTokens: positiveNumber("LLM_CONTEXT_TOKENS", 8192),
    openaiResponseFormat: Config.literal(...OPENAI_RESPONSE_FORMATS)("OPENAI_RESPONSE_FORMAT").pipe(
      Config.withDefault("json_schema" as const)
    )
  }),
  safeline: Config.all({
    url: optionalString("SAFELINE_URL"),
    apiToken: optionalSecret("SAFELINE_API_TOKEN"),
    verifyTls: Config.boolean("SAFELINE_VERIFY_TLS").pipe(Config.withDefault(true)),
    caBundle: optionalString("SAFELINE_CA_BUNDLE"),
    timeoutSeconds: positiveNumber("SAFELINE_TIMEOUT", 10),
    retries: nonNegativeInt("SAFELINE_RETRIES", 2),
    environment: Config.string("SAFELINE_ENVIRONMENT").pipe(
      Config.validate({
        message:
          "SAFELINE_ENVIRONMENT must be a short name of letters, digits, '.', '_' or '-' (e.g. production, staging)",
        validation: (value) => /^[A-Za-z0-9._-]{1,40}$/.test(value)
      }),
      Config.withDefault("production")
    )
  }),
  rag: Config.all({
    selfragMaxAttempts: positiveInt("SELFRAG_MAX_ATTEMPTS", 3),
    selfragMinCitations: nonNegativeInt("SELFRAG_MIN_CITATIONS", 1),
    docsDir: Config.string("KNOWLEDGE_DOCS_DIR").pipe(Config.withDefault("data/docs")),
    embeddingsBaseUrl: optionalString("EMBEDDINGS_BASE_URL"),
    embeddingsModel: Config.string("EMBEDDINGS_MODEL").pipe(Config.withDefault("text-embedding-3-small")),
    embeddingsApiKey: optionalSecret("EMBEDDINGS_API_KEY")
  }),
  guardrails: Config.all({
    confirmationTtlSeconds: positiveInt("CONFIRMATION_TTL_SECONDS", 300),
    confirmationMaxAttempts: positiveInt("CONFIRMATION_MAX_ATTEMPTS", 3),
    codeKey: optionalSecret("ASSISTANT_CODE_KEY"),
    codeKeyFile: optionalString("ASSISTANT_CODE_KEY_FILE"),
    codeFailureLimit: positiveInt("CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL", 10),
    codeFailureWindowSeconds: positiveInt("CONFIRMATION_FAILURE_WINDOW_SECONDS", 900),
    blacklistMinPrefixV4: prefixLength("BLACKLIST_MIN_PREFIX_V4", 16, 32),
    blacklistMinPrefixV6: prefixLength("BLACKLIST_MIN_PREFIX_V6", 48, 128),
    maxHops: boundedInt("AGENT_MAX_HOPS", 3, 1, 8)
  }),
  api: Config.all({
    host: Config.string("ASSISTANT_API_HOST").pipe(Config.withDefault("127.0.0.1")),
    port: Config.port("ASSISTANT_API_PORT").pipe(Config.withDefault(8081)),
    tokens: optionalSecret("ASSISTANT_API_TOKEN"),
    tokensFile: optionalString("ASSISTANT_API_TOKENS_FILE"),
    allowUnauthenticated: Config.boolean("ASSISTANT_API_ALLOW_UNAUTHENTICATED").pipe(Config.withDefault(false)),
    allowedHosts: commaList("ASSISTANT_API_ALLOWED_HOSTS"),
    allowedOrigins: commaList("ASSISTANT_API_ALLOWED_ORIGINS"),
    trustedProxies: commaList("ASSISTANT_API_TRUSTED_PROXIES").pipe(
      Config.mapOrFail((entries) => {
        const bad = entries.find((entry) => !(ipaddr.isValid(entry) || ipaddr.isValidCIDR(entry)))
        return bad === undefined
          ? Either.right(entries)
          : Either.left(
              ConfigError.InvalidData(
                ["ASSISTANT_API_TRUSTED_PROXIES"],
                `"${bad.slice(0, 60)}" is not an address or CIDR (e.g. 10.0.0.0/8, 192.168.1.10)`
              )
            )
      })
    ),
    rateLimit: optionalCount("ASSISTANT_API_RATE_LIMIT", "turns per minute per principal; 0 turns the limit off"),
    bodyTimeoutSeconds: positiveNumber("ASSISTANT_API_BODY_TIMEOUT_SECONDS", 10),
    maxBodyBytes: positiveInt("ASSISTANT_API_MAX_BODY_BYTES", 65536),
    maxMessageChars: positiveInt("ASSISTANT_API_MAX_MESSAGE_CHARS", 8000),
    turnWaitSeconds: positiveNumber("ASSISTANT_API_TURN_WAIT_SECONDS", 30),
    shutdownGraceSeconds: positiveNumber("ASSISTANT_API_SHUTDOWN_GRACE_SECONDS", 20)
  }),
  sessions: Config.all({
    store: Config.literal(...SESSION_STORES)("SESSION_STORE").pipe(Config.withDefault("memory" as const)),
    redisUrl: optionalSecret("REDIS_URL"),
    ttlSeconds: positiveInt("ASSISTANT_API_SESSION_TTL_SECONDS", 3600),
    maxSessions: positiveInt("ASSISTANT_API_MAX_SESSIONS", 1000),
    historyMessages: positiveInt("ASSISTANT_API_HISTORY_MESSAGES", 20)
  }),
  observability: Config.all({
    enabled: Config.boolean("AGENT_OBSERVABILITY_ENABLED").pipe(Config.withDefault(true)),
    metricsNamespace,
    traceJsonlPath: Config.string("AGENT_TRACE_JSONL_PATH").pipe(Config.withDefault("data/logs/agent-traces.jsonl")),
    traceCaptureContent: Config.boolean("AGENT_TRACE_CAPTURE_CONTENT").pipe(Config.withDefault(false)),
    traceQueueSize: positiveInt("AGENT_TRACE_QUEUE_SIZE", 50000),
    traceMaxFileBytes: positiveInt("AGENT_TRACE_MAX_FILE_BYTES", 100 * 1024 * 1024),
    traceMaxFiles: positiveInt("AGENT_TRACE_MAX_FILES", 5),
    auditEnabled: Config.boolean("GUARDRAIL_AUDIT_ENABLED").pipe(Config.withDefault(true)),
    auditPath: Config.string("GUARDRAIL_AUDIT_PATH").pipe(Config.withDefault("data/logs/guardrails.jsonl")),
    auditChangesPath: Config.string("GUARDRAIL_AUDIT_CHANGES_PATH").pipe(
      Config.withDefault("data/logs/waf-changes.jsonl")
    ),
    logLevel: Config.literal(
      "trace",
      "debug",
      "info",
      "warning",
      "error",
      "fatal",
      "none"
    )("LOG_LEVEL").pipe(Config.withDefault("info" as const)),
    logFormat: Config.literal("logfmt", "json")("LOG_FORMAT").pipe(Config.withDefault("logfmt" as const)),
    buildRevision: Config.string("BUILD_REVISION").pipe(Config.withDefault("")),
    llmPrices,
    wafModePollSeconds: nonNegativeInt("WAF_MODE_POLL_INTERVAL_SECONDS", 60)
  }),
  otel: Config.all({
    endpoint: optionalString("OTEL_EXPORTER_OTLP_ENDPOINT"),
    tracesEndpoint: optionalString("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    protocol: otlpProtocol,
    serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("security-agent")),
    resourceAttributes: optionalString("OTEL_RESOURCE_ATTRIBUTES")
  })
})

/**
 * The settings from the current ConfigProvider, with the Python project's variables mapped onto
 * ours first (LegacyEnv: renamed, ignored or refused); its notes are logged once, here.
 */
const loadSettings = Effect.gen(function* () {
  const legacy = yield* legacyEnv
  const base = yield* Effect.configProviderWith(Effect.succeed)
  const settings = yield* Effect.withConfigProvider(appSettingsConfig, withOverrides(legacy.overrides, base))
  yield* logLegacyNotes(legacy.notes, settings.observability.logFormat, settings.observability.logLevel)
  return settings
})

export class AppConfig extends Context.Tag("security-agent/AppConfig")<AppConfig, AppSettings>() {
  /** Reads the settings from the current ConfigProvider (the environment by default). */
  static readonly layer = Layer.effect(AppConfig, loadSettings)

  /** The settings as the given variables alone would make them: for tests and tools. */
  static readonly layerWith = (env: Readonly<Record<string, string>>) =>
    Layer.effect(
      AppConfig,
      Effect.withConfigProvider(loadSettings, ConfigProvider.fromMap(new Map(Object.entries(env))))
    )
}

/** A config failure phrased for a person: the variable and what was wrong with it. */
export const describeConfigError = (error: ConfigError.ConfigError): string =>
  `Invalid configuration: ${String(error).replace(/^\(|\)$/g, "")}`
