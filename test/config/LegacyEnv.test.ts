// The Python project's variables (mofangju/security-agent's .env.example, config.py and chart
// values): each honoured, renamed with a note, accepted but unused with a note, or refused with a
// message naming the replacement; the new name wins over the old; hostile values are refused.
import { describe, expect, it } from "@effect/vitest"
import { ConfigError, ConfigProvider, Effect, Either, Option, Redacted } from "effect"
import { afterEach, beforeEach, vi } from "vitest"
import { AppConfig, type AppSettings, describeConfigError } from "../../src/config/AppConfig.js"
import { legacyEnv } from "../../src/config/LegacyEnv.js"
import { checkBinding } from "../../src/http/Auth.js"

/** The Python project's .env.example (its last version, with the API and observability blocks). */
const PYTHON_ENV_EXAMPLE = `
LLM_PROVIDER=openai
OPENAI_API_KEY=sk-your-key-here
OPENAI_MODEL=gpt-4o-mini
GOOGLE_API_KEY=your-google-key-here
GOOGLE_MODEL=gemini-2.0-flash
VLLM_BASE_URL=http://localhost:8000/v1
VLLM_MODEL=meta-llama/Llama-3.1-8B-Instruct
SAFELINE_URL=https://localhost:9443
SAFELINE_API_TOKEN=your-safeline-api-token
SAFELINE_VERIFY_TLS=true
SAFELINE_CA_BUNDLE=
SAFELINE_TIMEOUT=10
SAFELINE_RETRIES=2
PETSHOP_HOST=0.0.0.0
PETSHOP_PORT=8080
CHROMA_PERSIST_DIR=./data/chroma
EMBEDDING_MODEL=all-MiniLM-L6-v2
SELFRAG_MAX_ATTEMPTS=3
SELFRAG_MIN_CITATIONS=1
LOG_LEVEL=INFO
SAFELINE_LOG_DIR=./data/logs
GUARDRAIL_AUDIT_ENABLED=true
GUARDRAIL_AUDIT_PATH=./data/logs/guardrails.json
ASSISTANT_API_HOST=0.0.0.0
ASSISTANT_API_PORT=8081
ASSISTANT_API_DEBUG=false
ASSISTANT_API_SESSION_TTL_SECONDS=3600
ASSISTANT_API_MAX_SESSIONS=1000
AGENT_OBSERVABILITY_ENABLED=true
AGENT_METRICS_NAMESPACE=security_agent
AGENT_TRACE_JSONL_PATH=./data/logs/agent-traces.jsonl
`

const parseEnv = (text: string): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Z0-9_]+)=(.*)$/)
    if (m) env[m[1]!] = m[2]!
  }
  return env
}

/** The settings and the notes the given variables alone would give. */
const resolve = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const provider = ConfigProvider.fromMap(new Map(Object.entries(env)))
    const { notes } = yield* Effect.withConfigProvider(legacyEnv, provider)
    const settings: AppSettings = yield* Effect.provide(AppConfig, AppConfig.layerWith({ LOG_LEVEL: "none", ...env }))
    return { settings, notes }
  })

const refusal = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const result = yield* Effect.either(Effect.provide(AppConfig, AppConfig.layerWith(env)))
    if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(env)} to be refused`)
    expect(ConfigError.isConfigError(result.left)).toBe(true)
    return describeConfigError(result.left)
  })

const noteAbout = (notes: ReadonlyArray<string>, name: string) => notes.filter((n) => n.startsWith(name)).join("\n")

// The notes go to stderr: kept out of the test output (the last describe reads them).
beforeEach(() => {
  vi.spyOn(console, "error").mockImplementation(() => {})
})
afterEach(() => {
  vi.restoreAllMocks()
})

describe("the Python project's .env.example", () => {
  it.effect("loads as is: same-name variables are honoured, the rest are noted, none is refused", () =>
    Effect.gen(function* () {
      const { settings, notes } = yield* resolve(parseEnv(PYTHON_ENV_EXAMPLE))
      expect(settings.llm.provider).toBe("openai")
      expect(Redacted.value(Option.getOrThrow(settings.llm.openaiApiKey))).toBe("sk-your-key-here")
      expect(settings.llm.openaiModel).toBe("gpt-4o-mini")
      expect(Option.isNone(settings.llm.openaiBaseUrl)).toBe(true)
      expect(Redacted.value(Option.getOrThrow(settings.llm.googleApiKey))).toBe("your-google-key-here")
      expect(settings.llm.googleModel).toBe("gemini-2.0-flash")
      expect(settings.safeline.url).toEqual(Option.some("https://localhost:9443"))
      expect(Redacted.value(Option.getOrThrow(settings.safeline.apiToken))).toBe("your-safeline-api-token")
      expect(settings.safeline.verifyTls).toBe(true)
      expect(Option.isNone(settings.safeline.caBundle)).toBe(true)
      expect(settings.safeline.timeoutSeconds).toBe(10)
      expect(settings.safeline.retries).toBe(2)
      expect(settings.rag.embeddingsModel).toBe("all-MiniLM-L6-v2")
      expect(settings.rag.selfragMaxAttempts).toBe(3)
      expect(settings.rag.selfragMinCitations).toBe(1)
      expect(settings.observability.auditEnabled).toBe(true)
      expect(settings.observability.auditPath).toBe("./data/logs/guardrails.json")
      expect(settings.observability.traceJsonlPath).toBe("./data/logs/agent-traces.jsonl")
      expect(settings.observability.metricsNamespace).toBe("security_agent")
      expect(settings.observability.enabled).toBe(true)
      expect(settings.api.host).toBe("0.0.0.0")
      expect(settings.api.port).toBe(8081)
      expect(settings.sessions.ttlSeconds).toBe(3600)
      expect(settings.sessions.maxSessions).toBe(1000)

      // Each variable that is not ours by the same name and meaning gets exactly one note.
      for (const name of [
        "VLLM_BASE_URL, VLLM_MODEL",
        "PETSHOP_HOST",
        "PETSHOP_PORT",
        "CHROMA_PERSIST_DIR",
        "EMBEDDING_MODEL",
        "LOG_LEVEL",
        "SAFELINE_LOG_DIR",
        "ASSISTANT_API_DEBUG"
      ]) {
        expect(
          notes.filter((n) => n.startsWith(name)),
          name
        ).toHaveLength(1)
      }
      expect(notes).toHaveLength(8)
      expect(noteAbout(notes, "VLLM_BASE_URL")).toMatch(/ignored: LLM_PROVIDER is openai.*OPENAI_BASE_URL/)
      expect(noteAbout(notes, "PETSHOP_HOST")).toContain("security-agent traffic --target")
      expect(noteAbout(notes, "CHROMA_PERSIST_DIR")).toContain("KNOWLEDGE_DOCS_DIR")
      expect(noteAbout(notes, "SAFELINE_LOG_DIR")).toContain("AGENT_TRACE_JSONL_PATH")
      expect(noteAbout(notes, "ASSISTANT_API_DEBUG")).toContain("LOG_LEVEL=debug")
      // No note repeats a secret.
      expect(notes.join("\n")).not.toMatch(/sk-your-key-here|your-safeline-api-token|your-google-key-here/)
    })
  )

  it.effect("security wins: ASSISTANT_API_HOST=0.0.0.0 without a token is still refused, with the fix", () =>
    Effect.gen(function* () {
      const { settings } = yield* resolve(parseEnv(PYTHON_ENV_EXAMPLE))
      const refused = yield* Effect.flip(checkBinding(settings.api))
      expect(refused._tag).toBe("UnsafeBinding")
      expect(refused.message).toContain("0.0.0.0")
      expect(refused.message).toContain("ASSISTANT_API_TOKEN")
      expect(refused.message).toContain("security-agent token")
      expect(refused.message).toContain("bind 127.0.0.1")
      const withToken = yield* resolve({ ...parseEnv(PYTHON_ENV_EXAMPLE), ASSISTANT_API_TOKEN: "t".repeat(40) })
      yield* checkBinding(withToken.settings.api)
    })
  )

  it.effect("the chart values of the Python project load too (OTEL_* and the rest keep their names)", () =>
    Effect.gen(function* () {
      const { settings } = yield* resolve({
        OTEL_SERVICE_NAME: "security-agent",
        OTEL_EXPORTER_OTLP_ENDPOINT: "",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        GUARDRAIL_AUDIT_PATH: "/tmp/guardrails.json",
        SAFELINE_URL: "https://safeline-mgt.default.svc.cluster.local:9443"
      })
      expect(settings.otel.serviceName).toBe("security-agent")
      expect(Option.isNone(settings.otel.endpoint)).toBe(true)
      expect(settings.observability.auditPath).toBe("/tmp/guardrails.json")
    })
  )
})

describe("LLM_PROVIDER=vllm", () => {
  it.effect("maps onto the OpenAI-compatible provider, with a deprecation note naming the new settings", () =>
    Effect.gen(function* () {
      const { settings, notes } = yield* resolve({
        LLM_PROVIDER: "vllm",
        VLLM_BASE_URL: "http://gpu.internal:8000/v1",
        VLLM_MODEL: "Qwen/Qwen2.5-7B-Instruct"
      })
      expect(settings.llm.provider).toBe("openai")
      expect(settings.llm.openaiBaseUrl).toEqual(Option.some("http://gpu.internal:8000/v1"))
      expect(settings.llm.openaiModel).toBe("Qwen/Qwen2.5-7B-Instruct")
      expect(Option.isNone(settings.llm.openaiApiKey)).toBe(true)
      const note = noteAbout(notes, "LLM_PROVIDER=vllm")
      expect(note).toContain("deprecated")
      expect(note).toContain("LLM_PROVIDER=openai, OPENAI_BASE_URL and OPENAI_MODEL")
      expect(note).toContain("http://gpu.internal:8000/v1")
      expect(notes).toHaveLength(1)
    })
  )

  it.effect("without VLLM_* it uses the Python project's defaults", () =>
    Effect.gen(function* () {
      const { settings } = yield* resolve({ LLM_PROVIDER: "vllm" })
      expect(settings.llm.openaiBaseUrl).toEqual(Option.some("http://localhost:8000/v1"))
      expect(settings.llm.openaiModel).toBe("meta-llama/Llama-3.1-8B-Instruct")
    })
  )

  it.effect("keeps the Python meaning of OPENAI_MODEL and OPENAI_API_KEY: the key never goes to the vLLM server", () =>
    Effect.gen(function* () {
      const { settings, notes } = yield* resolve({
        ...parseEnv(PYTHON_ENV_EXAMPLE),
        LLM_PROVIDER: "vllm",
        OPENAI_API_KEY: "sk-real-openai-key"
      })
      expect(settings.llm.provider).toBe("openai")
      expect(settings.llm.openaiModel).toBe("meta-llama/Llama-3.1-8B-Instruct")
      expect(settings.llm.openaiBaseUrl).toEqual(Option.some("http://localhost:8000/v1"))
      expect(Option.isNone(settings.llm.openaiApiKey)).toBe(true)
      expect(noteAbout(notes, "OPENAI_MODEL")).toMatch(/ignored with LLM_PROVIDER=vllm: VLLM_MODEL names the model/)
      expect(noteAbout(notes, "OPENAI_API_KEY")).toContain("not sent to the vllm server")
      expect(notes.join("\n")).not.toContain("sk-real-openai-key")
    })
  )

  it.effect("is read in any case, as the Python project lower-cased it", () =>
    Effect.gen(function* () {
      expect((yield* resolve({ LLM_PROVIDER: "VLLM" })).settings.llm.openaiModel).toBe(
        "meta-llama/Llama-3.1-8B-Instruct"
      )
      const openai = yield* resolve({ LLM_PROVIDER: "OpenAI" })
      expect(openai.settings.llm.provider).toBe("openai")
      expect(noteAbout(openai.notes, "LLM_PROVIDER")).toContain("read as openai")
    })
  )
})

describe("LLM_PROVIDER=ollama", () => {
  it.effect("maps OLLAMA_BASE_URL (its /v1 API) and OLLAMA_MODEL onto the OpenAI-compatible provider", () =>
    Effect.gen(function* () {
      const { settings, notes } = yield* resolve({
        LLM_PROVIDER: "ollama",
        OLLAMA_BASE_URL: "http://ollama.internal:11434/",
        OLLAMA_MODEL: "llama3.1:8b"
      })
      expect(settings.llm.provider).toBe("openai")
      expect(settings.llm.openaiBaseUrl).toEqual(Option.some("http://ollama.internal:11434/v1"))
      expect(settings.llm.openaiModel).toBe("llama3.1:8b")
      expect(noteAbout(notes, "LLM_PROVIDER=ollama")).toContain("deprecated")
      const already = yield* resolve({
        LLM_PROVIDER: "ollama",
        OLLAMA_BASE_URL: "http://127.0.0.1:11434/v1",
        OLLAMA_MODEL: "qwen2.5"
      })
      expect(already.settings.llm.openaiBaseUrl).toEqual(Option.some("http://127.0.0.1:11434/v1"))
      const byDefault = yield* resolve({ LLM_PROVIDER: "ollama", OLLAMA_MODEL: "qwen2.5" })
      expect(byDefault.settings.llm.openaiBaseUrl).toEqual(Option.some("http://localhost:11434/v1"))
    })
  )

  it.effect("without OLLAMA_MODEL is refused, naming it and the new settings", () =>
    Effect.gen(function* () {
      const message = yield* refusal({ LLM_PROVIDER: "ollama", OPENAI_MODEL: "gpt-4o-mini" })
      expect(message).toContain("OLLAMA_MODEL")
      expect(message).toContain("OPENAI_BASE_URL=http://localhost:11434/v1")
    })
  )
})

describe("old and new names together: the new one wins, with a note", () => {
  it.effect("OPENAI_BASE_URL over VLLM_BASE_URL and OLLAMA_BASE_URL", () =>
    Effect.gen(function* () {
      const vllm = yield* resolve({
        LLM_PROVIDER: "vllm",
        OPENAI_BASE_URL: "http://new:8000/v1",
        VLLM_BASE_URL: "http://old:8000/v1"
      })
      expect(vllm.settings.llm.openaiBaseUrl).toEqual(Option.some("http://new:8000/v1"))
      expect(noteAbout(vllm.notes, "VLLM_BASE_URL")).toBe("VLLM_BASE_URL is ignored: OPENAI_BASE_URL is set and wins")
      expect(vllm.notes.join("\n")).not.toContain("http://old")
      const ollama = yield* resolve({
        LLM_PROVIDER: "ollama",
        OLLAMA_MODEL: "m",
        OPENAI_BASE_URL: "http://new:11434/v1",
        OLLAMA_BASE_URL: "http://old:11434"
      })
      expect(ollama.settings.llm.openaiBaseUrl).toEqual(Option.some("http://new:11434/v1"))
      expect(noteAbout(ollama.notes, "OLLAMA_BASE_URL")).toContain("OPENAI_BASE_URL is set and wins")
    })
  )

  it.effect("OPENAI_BASE_URL with OPENAI_MODEL and OPENAI_API_KEY: all three mean what they say, for that server", () =>
    Effect.gen(function* () {
      const mixed = yield* resolve({
        LLM_PROVIDER: "vllm",
        OPENAI_BASE_URL: "http://new:8000/v1",
        OPENAI_MODEL: "qwen",
        OPENAI_API_KEY: "sk-own-server-key-000000000000",
        VLLM_MODEL: "old-model"
      })
      expect(mixed.settings.llm.provider).toBe("openai")
      expect(mixed.settings.llm.openaiModel).toBe("qwen")
      expect(Option.map(mixed.settings.llm.openaiApiKey, Redacted.value)).toEqual(
        Option.some("sk-own-server-key-000000000000")
      )
      expect(mixed.notes.join("\n")).not.toContain("sk-own")
    })
  )

  it.effect("a base URL with a query or fragment (where gateways put tokens) is refused, never echoed", () =>
    Effect.gen(function* () {
      const message = yield* refusal({
        LLM_PROVIDER: "vllm",
        VLLM_BASE_URL: "http://gw.example/v1?api_key=SECRETKEY123"
      })
      expect(message).toContain("VLLM_BASE_URL")
      expect(message).not.toContain("SECRETKEY123")
      const ollama = yield* refusal({
        LLM_PROVIDER: "ollama",
        OLLAMA_MODEL: "m",
        OLLAMA_BASE_URL: "http://h:11434/#tok"
      })
      expect(ollama).toContain("OLLAMA_BASE_URL")
    })
  )

  it.effect("EMBEDDINGS_MODEL over EMBEDDING_MODEL; EMBEDDING_MODEL alone is renamed", () =>
    Effect.gen(function* () {
      const both = yield* resolve({ EMBEDDING_MODEL: "all-MiniLM-L6-v2", EMBEDDINGS_MODEL: "nomic-embed-text" })
      expect(both.settings.rag.embeddingsModel).toBe("nomic-embed-text")
      expect(both.notes).toEqual(["EMBEDDING_MODEL is ignored: EMBEDDINGS_MODEL is set and wins"])
      const old = yield* resolve({ EMBEDDING_MODEL: "all-MiniLM-L6-v2" })
      expect(old.settings.rag.embeddingsModel).toBe("all-MiniLM-L6-v2")
      expect(noteAbout(old.notes, "EMBEDDING_MODEL")).toContain("now EMBEDDINGS_MODEL")
      expect(noteAbout(old.notes, "EMBEDDING_MODEL")).toContain("EMBEDDINGS_BASE_URL")
    })
  )
})

describe("Python spellings of our variables", () => {
  it.effect("LOG_LEVEL in capitals (CRITICAL is fatal, WARN is warning) and booleans in any case", () =>
    Effect.gen(function* () {
      for (const [given, level] of [
        ["INFO", "info"],
        ["DEBUG", "debug"],
        ["WARN", "warning"],
        ["WARNING", "warning"],
        ["ERROR", "error"],
        ["CRITICAL", "fatal"]
      ] as const) {
        const env = { LOG_LEVEL: given }
        const provider = ConfigProvider.fromMap(new Map(Object.entries(env)))
        const { overrides } = yield* Effect.withConfigProvider(legacyEnv, provider)
        expect(overrides.get("LOG_LEVEL"), given).toBe(level)
      }
      const { settings, notes } = yield* resolve({
        SAFELINE_VERIFY_TLS: "True",
        GUARDRAIL_AUDIT_ENABLED: "FALSE",
        AGENT_OBSERVABILITY_ENABLED: "Yes"
      })
      expect(settings.safeline.verifyTls).toBe(true)
      expect(settings.observability.auditEnabled).toBe(false)
      expect(settings.observability.enabled).toBe(true)
      expect(notes).toHaveLength(3)
    })
  )
})

describe("refused at start-up, naming the replacement", () => {
  it.effect("ASSISTANT_API_DEBUG=true (Flask's debugger) names LOG_LEVEL=debug", () =>
    Effect.gen(function* () {
      for (const value of ["true", "1", "On", "YES"]) {
        const message = yield* refusal({ ASSISTANT_API_DEBUG: value })
        expect(message, value).toContain("ASSISTANT_API_DEBUG")
        expect(message, value).toContain("LOG_LEVEL=debug")
      }
    })
  )
})

describe("hostile values", () => {
  it.effect("VLLM_BASE_URL / OLLAMA_BASE_URL: only http(s), no credentials, no control characters, bounded", () =>
    Effect.gen(function* () {
      for (const url of [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://localhost:8000/",
        "not a url",
        "http://gpu:8000/v1\nX-Injected: 1",
        "http://gpu:8000/v1\u0000",
        `http://gpu:8000/${"a".repeat(5000)}`,
        "localhost:8000"
      ]) {
        const message = yield* refusal({ LLM_PROVIDER: "vllm", VLLM_BASE_URL: url })
        expect(message, url).toContain("VLLM_BASE_URL")
        expect(message, url).not.toContain("\n")
      }
      const withPassword = yield* refusal({ LLM_PROVIDER: "vllm", VLLM_BASE_URL: "http://user:hunter2@gpu:8000/v1" })
      expect(withPassword).toContain("must not hold credentials")
      expect(withPassword).not.toContain("hunter2")
      const ollama = yield* refusal({ LLM_PROVIDER: "ollama", OLLAMA_MODEL: "m", OLLAMA_BASE_URL: "ftp://x" })
      expect(ollama).toContain("OLLAMA_BASE_URL")
    })
  )

  it.effect("model names with spaces, control characters or 300 characters are refused", () =>
    Effect.gen(function* () {
      for (const model of ["llama 3", "m\nlevel=ERROR forged", "x".repeat(300), "m\u001b[31m"]) {
        expect(yield* refusal({ LLM_PROVIDER: "vllm", VLLM_MODEL: model }), model).toContain("VLLM_MODEL")
        expect(yield* refusal({ LLM_PROVIDER: "ollama", OLLAMA_MODEL: model }), model).toContain("OLLAMA_MODEL")
        expect(yield* refusal({ EMBEDDING_MODEL: model }), model).toContain("EMBEDDING_MODEL")
      }
    })
  )

  it.effect("what the Python project read as false is refused rather than guessed (TLS stays verified)", () =>
    Effect.gen(function* () {
      expect(yield* refusal({ SAFELINE_VERIFY_TLS: "fasle" })).toContain("SAFELINE_VERIFY_TLS")
      expect(yield* refusal({ SAFELINE_VERIFY_TLS: "disabled" })).toContain("SAFELINE_VERIFY_TLS")
      expect(yield* refusal({ LOG_LEVEL: "NOTSET" })).toContain("LOG_LEVEL")
      expect(yield* refusal({ LLM_PROVIDER: "vllm2" })).toContain("LLM_PROVIDER")
      expect(yield* refusal({ LLM_PROVIDER: "vllm\nollama" })).toContain("LLM_PROVIDER")
    })
  )
})

describe("the notes at start-up", () => {
  it.effect("are logged once each as warnings on stderr (JSON with LOG_FORMAT=json), never on stdout", () =>
    Effect.gen(function* () {
      const stderr = vi.spyOn(console, "error").mockImplementation(() => {})
      const stdout = vi.spyOn(console, "log").mockImplementation(() => {})
      yield* Effect.provide(
        AppConfig,
        AppConfig.layerWith({ LLM_PROVIDER: "vllm", EMBEDDING_MODEL: "e5", LOG_FORMAT: "json" })
      )
      const lines = stderr.mock.calls.map((call) => String(call[0]))
      expect(lines).toHaveLength(2)
      // The app's JSON line shape (LOG_FORMAT=json): timestamp, level, message, annotations.
      const parsed = lines.map(
        (line) => JSON.parse(line) as { timestamp: string; level: string; message: string; legacy_env: string }
      )
      expect(parsed.map((p) => p.level)).toEqual(["WARN", "WARN"])
      expect(parsed.map((p) => p.legacy_env)).toEqual(["python", "python"])
      expect(parsed[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/)
      expect(parsed.some((p) => p.message.startsWith("LLM_PROVIDER=vllm is deprecated"))).toBe(true)
      expect(parsed.some((p) => p.message.startsWith("EMBEDDING_MODEL is now EMBEDDINGS_MODEL"))).toBe(true)
      expect(stdout).not.toHaveBeenCalled()
    })
  )

  it.effect("are silent at LOG_LEVEL=error and when no legacy variable is set (our own .env.example)", () =>
    Effect.gen(function* () {
      const stderr = vi.spyOn(console, "error").mockImplementation(() => {})
      yield* Effect.provide(AppConfig, AppConfig.layerWith({ LLM_PROVIDER: "vllm", LOG_LEVEL: "error" }))
      const { readFileSync } = yield* Effect.promise(() => import("node:fs"))
      const ours = parseEnv(readFileSync(new URL("../../.env.example", import.meta.url), "utf8"))
      const provider = ConfigProvider.fromMap(new Map(Object.entries(ours)))
      const { notes, overrides } = yield* Effect.withConfigProvider(legacyEnv, provider)
      expect(notes).toEqual([])
      expect(overrides.size).toBe(0)
      yield* Effect.provide(AppConfig, AppConfig.layerWith(ours))
      expect(stderr).not.toHaveBeenCalled()
    })
  )
})
