// The variables of the Python project (mofangju/security-agent) mapped onto ours before AppConfig
// reads the settings, so its `.env` keeps working: each one is honoured (renamed, with a note
// naming the new setting), accepted but unused (with a note naming what replaced it), or
// refused with a message naming the replacement. Security wins over compatibility: nothing here
// loosens a check of AppConfig (e.g. ASSISTANT_API_HOST=0.0.0.0 still needs a token).
// docs/migrating-from-python.md has the table.
import { Config, ConfigError, ConfigProvider, Effect, Either, HashMap, Logger, LogLevel, Option } from "effect"

export interface LegacyEnv {
  /** Variables (our names) whose value replaces the environment's; "" means unset. */
  readonly overrides: ReadonlyMap<string, string>
  /** One line per legacy variable or spelling seen: what it means now, naming the new setting. */
  readonly notes: ReadonlyArray<string>
}

/** The Python project's defaults for LLM_PROVIDER=vllm (its config.py); Ollama's usual address. */
export const PYTHON_VLLM_BASE_URL = "http://localhost:8000/v1"
export const PYTHON_VLLM_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
export const OLLAMA_DEFAULT_BASE_URL = "http://localhost:11434"

const READ = [
  "LLM_PROVIDER",
  "OPENAI_API_KEY",
  "OPENAI_MODEL",
  "OPENAI_BASE_URL",
  "VLLM_BASE_URL",
  "VLLM_MODEL",
  "OLLAMA_BASE_URL",
  "OLLAMA_MODEL",
  "EMBEDDING_MODEL",
  "EMBEDDINGS_MODEL",
  "LOG_LEVEL",
  "SAFELINE_VERIFY_TLS",
  "GUARDRAIL_AUDIT_ENABLED",
  "AGENT_OBSERVABILITY_ENABLED",
  "ASSISTANT_API_DEBUG",
  "PETSHOP_HOST",
  "PETSHOP_PORT",
  "PETSHOP_DB",
  "CHROMA_PERSIST_DIR",
  "SAFELINE_LOG_DIR"
] as const
type Name = (typeof READ)[number]
type Raw = Readonly<Record<Name, Option.Option<string>>>

/** Variables that configured parts of the Python project this one does not have: accepted, unused. */
const UNUSED: ReadonlyArray<readonly [Name, string]> = [
  [
    "PETSHOP_HOST",
    "the demo pet shop is not part of security-agent; send demo traffic at your own site behind SafeLine with `security-agent traffic --target <url>`"
  ],
  ["PETSHOP_PORT", "the demo pet shop is not part of security-agent; see `security-agent traffic --target <url>`"],
  ["PETSHOP_DB", "the demo pet shop is not part of security-agent; see `security-agent traffic --target <url>`"],
  [
    "CHROMA_PERSIST_DIR",
    "there is no vector store on disk: the index is built in memory at start-up from KNOWLEDGE_DOCS_DIR (dense retrieval with EMBEDDINGS_BASE_URL)"
  ],
  [
    "SAFELINE_LOG_DIR",
    "logs are AGENT_TRACE_JSONL_PATH (trace events), GUARDRAIL_AUDIT_PATH and GUARDRAIL_AUDIT_CHANGES_PATH (audit)"
  ]
]

const PROVIDERS = ["offline", "openai", "google", "anthropic"]
const COMPATIBLE = { vllm: "VLLM", ollama: "OLLAMA" } as const
type Compatible = keyof typeof COMPATIBLE
const LOG_LEVELS: Readonly<Record<string, string>> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  warning: "warning",
  error: "error",
  critical: "fatal",
  fatal: "fatal",
  none: "none"
}
/** Effect's Config.boolean spellings: another case of one of them is honoured, anything else refused. */
const BOOLEANS = new Set(["true", "yes", "on", "1", "y", "false", "no", "off", "0", "n"])
const PYTHON_TRUE = new Set(["1", "true", "yes", "on"])

/** Unset and empty (as in a copied .env.example) are the same; values are trimmed. */
const raw = (name: Name) =>
  Config.option(Config.string(name)).pipe(
    Config.map((value) =>
      Option.filter(
        Option.map(value, (v) => v.trim()),
        (v) => v !== ""
      )
    )
  )

const refuse = (name: string, message: string) => Either.left(ConfigError.InvalidData([name], message))

/** A model name as it reaches logs and the provider: printable ASCII, no spaces, bounded. */
const MODEL_PATTERN = /^[\x21-\x7e]{1,256}$/

/** An http(s) URL without credentials or control characters: it is logged and requested. */
const checkUrl = (name: string, text: string): Either.Either<URL, ConfigError.ConfigError> => {
  const example = name.startsWith("OLLAMA") ? "http://localhost:11434" : "http://localhost:8000/v1"
  if (text.length > 2048 || /[\s\u0000-\u001f\u007f]/.test(text)) {
    return refuse(name, `${name} must be an http(s) URL such as ${example} (no spaces or control characters)`)
  }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return refuse(name, `${name} must be an http(s) URL such as ${example}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return refuse(name, `${name} must be an http(s) URL such as ${example}, not ${url.protocol}`)
  }
  if (url.username !== "" || url.password !== "") {
    return refuse(name, `${name} must not hold credentials: put an API key in OPENAI_API_KEY with LLM_PROVIDER=openai`)
  }
  // A query or fragment is where gateways put tokens: it would be logged in the deprecation note.
  if (url.search !== "" || url.hash !== "") {
    return refuse(name, `${name} must not have a query or fragment (e.g. ?api_key=): use ${example}`)
  }
  return Either.right(url)
}

/** Ollama's OpenAI-compatible API lives under /v1 of its base URL. */
const ollamaV1 = (url: URL): string => {
  const path = url.pathname.replace(/\/+$/, "")
  return `${url.origin}${/\/v1$/.test(path) ? path : `${path}/v1`}`
}

const mapCompatible = (
  kind: Compatible,
  env: Raw,
  overrides: Map<string, string>,
  notes: Array<string>
): Either.Either<void, ConfigError.ConfigError> => {
  const prefix = COMPATIBLE[kind]
  const baseName = `${prefix}_BASE_URL` as const
  const modelName = `${prefix}_MODEL` as const
  const given = Option.getOrUndefined(env[baseName])

  // OPENAI_BASE_URL did not exist in the Python project: setting it is a choice of the new name.
  let where = "OPENAI_BASE_URL"
  if (Option.isSome(env.OPENAI_BASE_URL)) {
    if (given !== undefined) notes.push(`${baseName} is ignored: OPENAI_BASE_URL is set and wins`)
  } else {
    const checked = checkUrl(baseName, given ?? (kind === "vllm" ? PYTHON_VLLM_BASE_URL : OLLAMA_DEFAULT_BASE_URL))
    if (Either.isLeft(checked)) return Either.left(checked.left)
    const text = kind === "ollama" ? ollamaV1(checked.right) : (given ?? PYTHON_VLLM_BASE_URL)
    overrides.set("OPENAI_BASE_URL", text)
    where = text
  }

  // With OPENAI_BASE_URL set the operator chose the new names: OPENAI_MODEL and OPENAI_API_KEY
  // then mean what they say here, for that server.
  if (Option.isSome(env.OPENAI_BASE_URL) && Option.isSome(env.OPENAI_MODEL)) {
    if (Option.isSome(env[modelName]))
      notes.push(`${modelName} is ignored: OPENAI_BASE_URL and OPENAI_MODEL are set and win`)
    overrides.set("LLM_PROVIDER", "openai")
    notes.push(
      `LLM_PROVIDER=${kind} is deprecated: it runs the OpenAI-compatible provider at OPENAI_BASE_URL with OPENAI_MODEL; set LLM_PROVIDER=openai`
    )
    return Either.right(undefined)
  }
  // OPENAI_MODEL and OPENAI_API_KEY keep their Python meaning: they applied to OpenAI only.
  const model = Option.getOrUndefined(env[modelName]) ?? (kind === "vllm" ? PYTHON_VLLM_MODEL : undefined)
  if (model === undefined) {
    return refuse(
      modelName,
      `LLM_PROVIDER=ollama needs OLLAMA_MODEL (e.g. llama3.1:8b), or set LLM_PROVIDER=openai, OPENAI_BASE_URL=${OLLAMA_DEFAULT_BASE_URL}/v1 and OPENAI_MODEL`
    )
  }
  if (!MODEL_PATTERN.test(model)) {
    return refuse(modelName, `${modelName} must be a model name of 1-256 printable characters without spaces`)
  }
  overrides.set("OPENAI_MODEL", model)
  if (Option.isSome(env.OPENAI_MODEL)) {
    notes.push(
      `OPENAI_MODEL is ignored with LLM_PROVIDER=${kind}: ${Option.isSome(env[modelName]) ? modelName : `the ${kind} default`} names the model, as before; to use OPENAI_MODEL set LLM_PROVIDER=openai`
    )
  }
  if (Option.isSome(env.OPENAI_API_KEY)) {
    overrides.set("OPENAI_API_KEY", "")
    notes.push(
      `OPENAI_API_KEY is not sent to the ${kind} server: it belongs to LLM_PROVIDER=openai, as in the Python project; to send a key there set LLM_PROVIDER=openai with OPENAI_BASE_URL`
    )
  }
  overrides.set("LLM_PROVIDER", "openai")
  notes.push(
    `LLM_PROVIDER=${kind} is deprecated: it runs the OpenAI-compatible provider at ${where} with model ${model}; set LLM_PROVIDER=openai, OPENAI_BASE_URL and OPENAI_MODEL instead (${baseName} and ${modelName} become OPENAI_BASE_URL and OPENAI_MODEL)`
  )
  return Either.right(undefined)
}

/** What the legacy variables of the environment mean here; fails on one that is refused. */
export const resolveLegacyEnv = (env: Raw): Either.Either<LegacyEnv, ConfigError.ConfigError> => {
  const overrides = new Map<string, string>()
  const notes: Array<string> = []

  const provider = Option.getOrUndefined(env.LLM_PROVIDER)
  const lower = provider?.toLowerCase()
  if (lower === "vllm" || lower === "ollama") {
    const mapped = mapCompatible(lower, env, overrides, notes)
    if (Either.isLeft(mapped)) return Either.left(mapped.left)
  } else {
    if (provider !== undefined && lower !== provider && PROVIDERS.includes(lower!)) {
      overrides.set("LLM_PROVIDER", lower!)
      notes.push(`LLM_PROVIDER=${provider} is read as ${lower}: write it in lower case`)
    }
    const unused = (["VLLM_BASE_URL", "VLLM_MODEL", "OLLAMA_BASE_URL", "OLLAMA_MODEL"] as const).filter((name) =>
      Option.isSome(env[name])
    )
    if (unused.length > 0) {
      notes.push(
        `${unused.join(", ")} ${unused.length === 1 ? "is" : "are"} ignored: LLM_PROVIDER is ${lower ?? "unset (offline)"}; an OpenAI-compatible server is OPENAI_BASE_URL and OPENAI_MODEL with LLM_PROVIDER=openai`
      )
    }
  }

  const embedding = Option.getOrUndefined(env.EMBEDDING_MODEL)
  if (embedding !== undefined) {
    if (Option.isSome(env.EMBEDDINGS_MODEL)) {
      notes.push("EMBEDDING_MODEL is ignored: EMBEDDINGS_MODEL is set and wins")
    } else if (!MODEL_PATTERN.test(embedding)) {
      return refuse("EMBEDDING_MODEL", "EMBEDDING_MODEL (now EMBEDDINGS_MODEL) must be a model name without spaces")
    } else {
      overrides.set("EMBEDDINGS_MODEL", embedding)
      notes.push(
        `EMBEDDING_MODEL is now EMBEDDINGS_MODEL (read as EMBEDDINGS_MODEL=${embedding}); it is used only with EMBEDDINGS_BASE_URL, an OpenAI-compatible embeddings server (without it retrieval is BM25 only)`
      )
    }
  }

  const level = Option.getOrUndefined(env.LOG_LEVEL)
  const mappedLevel = level === undefined ? undefined : LOG_LEVELS[level.toLowerCase()]
  if (level !== undefined && mappedLevel !== undefined && mappedLevel !== level) {
    overrides.set("LOG_LEVEL", mappedLevel)
    notes.push(
      `LOG_LEVEL=${level} is read as ${mappedLevel}: write it in lower case (trace, debug, info, warning, error, fatal, none)`
    )
  }

  for (const name of ["SAFELINE_VERIFY_TLS", "GUARDRAIL_AUDIT_ENABLED", "AGENT_OBSERVABILITY_ENABLED"] as const) {
    const value = Option.getOrUndefined(env[name])
    // Any other spelling is left to AppConfig, which refuses it (Python read it as false).
    if (value !== undefined && value !== value.toLowerCase() && BOOLEANS.has(value.toLowerCase())) {
      overrides.set(name, value.toLowerCase())
      notes.push(`${name}=${value} is read as ${value.toLowerCase()}: write it in lower case`)
    }
  }

  const debug = Option.getOrUndefined(env.ASSISTANT_API_DEBUG)
  if (debug !== undefined) {
    if (PYTHON_TRUE.has(debug.toLowerCase())) {
      return refuse(
        "ASSISTANT_API_DEBUG",
        "ASSISTANT_API_DEBUG=true is refused: there is no debug server here (Flask's debugger runs code for anyone who reaches it); remove it and set LOG_LEVEL=debug for verbose logs"
      )
    }
    notes.push("ASSISTANT_API_DEBUG is ignored: there is no debug mode; LOG_LEVEL=debug gives verbose logs")
  }

  for (const [name, replacement] of UNUSED) {
    if (Option.isSome(env[name])) notes.push(`${name} is ignored: ${replacement}`)
  }
  return Either.right({ overrides, notes })
}

/** The legacy variables of the current ConfigProvider, resolved. */
export const legacyEnv: Config.Config<LegacyEnv> = Config.all(
  Object.fromEntries(READ.map((name) => [name, raw(name)])) as { [K in Name]: Config.Config<Option.Option<string>> }
).pipe(Config.mapOrFail(resolveLegacyEnv))

/**
 * `base`, except for the variables in `overrides`, which are read from there alone (so "" unsets
 * one: an `orElse` would fall back to the environment's value). Flat names only, as AppConfig uses.
 */
export const withOverrides = (
  overrides: ReadonlyMap<string, string>,
  base: ConfigProvider.ConfigProvider
): ConfigProvider.ConfigProvider => {
  if (overrides.size === 0) return base
  const mapped = ConfigProvider.fromMap(new Map(overrides)).flattened
  return ConfigProvider.fromFlat(
    ConfigProvider.makeFlat({
      load: (path, config, split) =>
        overrides.has(path.join("_")) ? mapped.load(path, config, split) : base.flattened.load(path, config, split),
      enumerateChildren: (path) => base.flattened.enumerateChildren(path),
      patch: base.flattened.patch
    })
  )
}

/** The app's JSON line (observability/JsonLogger's shape) for the lines logged before that logger exists. */
const jsonLine = Logger.make<unknown, string>(({ annotations, date, logLevel, message }) =>
  JSON.stringify({
    timestamp: date.toISOString(),
    level: logLevel.label,
    message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
    ...Object.fromEntries(HashMap.toEntries(annotations))
  })
)

/**
 * Logs the notes once, at start-up, as warnings on stderr: before the app's logger exists, so in
 * the format and at the level the settings ask for (LOG_FORMAT, LOG_LEVEL).
 */
export const logLegacyNotes = (notes: ReadonlyArray<string>, logFormat: "logfmt" | "json", logLevel: string) =>
  notes.length === 0 || ["error", "fatal", "none"].includes(logLevel)
    ? Effect.void
    : Effect.forEach(notes, (note) => Effect.logWarning(note), { discard: true }).pipe(
        Effect.annotateLogs("legacy_env", "python"),
        Effect.provide(
          Logger.replace(
            Logger.defaultLogger,
            Logger.withConsoleError(logFormat === "json" ? jsonLine : Logger.logfmtLogger)
          )
        ),
        Logger.withMinimumLogLevel(LogLevel.Warning)
      )
