// The product as users run it, for the end-to-end suite: `security-agent simulator` as a
// separate process (so the suite can take SafeLine away) and `security-agent serve` pointed at
// it, with the offline reasoner, JSONL + audit files in a temp dir and OTLP export switched on.
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { freePort, type Started, startProcess } from "../../support/processes.js"
import { repoPath } from "../../support/tools.js"

const BIN = repoPath("bin", "security-agent.js")

/** One JSONL trace event (or audit record), as CONTRACT.md defines it. */
export interface TraceEvent {
  readonly ts: string
  readonly event: string
  readonly trace_id: string
  readonly span_id: string
  readonly session_id: string
  readonly turn_id: string
  readonly metadata: Readonly<Record<string, any>>
}

export interface ChatReply {
  readonly session_id: string
  readonly turn_id: string
  readonly trace_id: string
  readonly route: string
  readonly reply: string
  readonly sources: ReadonlyArray<{ readonly source: string; readonly section: string }>
  readonly pending_action?: { readonly action: string; readonly summary: string; readonly expires_at: string }
}

export interface SimulatorProcess {
  readonly url: string
  readonly token: string
  readonly stop: () => Promise<void>
}

export interface AgentService {
  readonly url: string
  readonly host: string
  /** The bearer token /v1/* requires (it must never reach a log or a span). */
  readonly apiToken: string
  readonly jsonlPath: string
  readonly auditPath: string
  /** WAF change records (intent before, outcome after each change). */
  readonly changesPath: string
  /** POST /v1/chat; throws unless the answer is 200. */
  readonly chat: (message: string, sessionId: string) => Promise<ChatReply>
  readonly readyz: () => Promise<any>
  readonly output: () => string
  readonly stop: () => Promise<void>
}

/**
 * Settings inherited from the developer's shell would redirect the suite (another SafeLine,
 * another OTLP endpoint, Redis): drop them from this worker's environment, which the child
 * processes inherit, and set what the suite needs explicitly. The children also run in the
 * scratch directory, so a developer's `.env` in the repository is not loaded either (data
 * paths fall back to the package root).
 */
const INHERITED_SETTINGS =
  /^(OTEL_|AGENT_|ASSISTANT_API_|SAFELINE_|GUARDRAIL_|LLM_|OPENAI_|GOOGLE_|ANTHROPIC_|EMBEDDINGS_|SELFRAG_|CONFIRMATION_|BLACKLIST_|SESSION_STORE$|REDIS_URL$|KNOWLEDGE_DOCS_DIR$|LOG_LEVEL$)/
const dropInheritedSettings = () => {
  for (const key of Object.keys(process.env)) if (INHERITED_SETTINGS.test(key)) delete process.env[key]
}

export const startSimulator = async (dir: string): Promise<SimulatorProcess> => {
  dropInheritedSettings()
  const port = await freePort()
  const token = randomBytes(12).toString("hex")
  const started: Started = await startProcess(
    process.execPath,
    [BIN, "simulator", "--port", String(port), "--token", token],
    { ready: /listening on http:\/\/127\.0\.0\.1:\d+/, cwd: dir, timeoutMs: 30_000 }
  )
  const url = started.output().match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)![1]!
  return {
    url,
    token,
    stop: async () => {
      await started.stop("SIGTERM")
    }
  }
}

export const startService = async (
  dir: string,
  options: {
    readonly safeline: SimulatorProcess
    readonly otlpEndpoint: string
    /** Settings over the suite's defaults (e.g. an LLM provider). */
    readonly env?: Readonly<Record<string, string>>
  }
): Promise<AgentService> => {
  dropInheritedSettings()
  const port = await freePort()
  const apiToken = randomBytes(16).toString("hex")
  const jsonlPath = join(dir, "logs", "agent-traces.jsonl")
  const auditPath = join(dir, "logs", "guardrails.jsonl")
  const changesPath = join(dir, "logs", "waf-changes.jsonl")
  const started: Started = await startProcess(process.execPath, [BIN, "serve"], {
    env: {
      ASSISTANT_API_HOST: "127.0.0.1",
      ASSISTANT_API_PORT: String(port),
      ASSISTANT_API_TOKEN: apiToken,
      LLM_PROVIDER: "offline",
      SAFELINE_URL: options.safeline.url,
      SAFELINE_API_TOKEN: options.safeline.token,
      SESSION_STORE: "memory",
      AGENT_OBSERVABILITY_ENABLED: "true",
      AGENT_METRICS_NAMESPACE: "security_agent",
      AGENT_TRACE_JSONL_PATH: jsonlPath,
      GUARDRAIL_AUDIT_ENABLED: "true",
      GUARDRAIL_AUDIT_PATH: auditPath,
      GUARDRAIL_AUDIT_CHANGES_PATH: changesPath,
      OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_SERVICE_NAME: "security-agent",
      // The SDK's standard batch delay (5 s by default): shorter keeps the suite quick.
      OTEL_BSP_SCHEDULE_DELAY: "1000",
      LOG_LEVEL: "info",
      ...options.env
    },
    ready: /Listening on http:\/\/127\.0\.0\.1:\d+/,
    cwd: dir,
    timeoutMs: 60_000
  })
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    host: `127.0.0.1:${port}`,
    apiToken,
    jsonlPath,
    auditPath,
    changesPath,
    chat: async (message, sessionId) => {
      const response = await fetch(`${url}/v1/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiToken}` },
        body: JSON.stringify({ message, session_id: sessionId }),
        signal: AbortSignal.timeout(60_000)
      })
      const text = await response.text()
      if (response.status !== 200)
        throw new Error(`POST /v1/chat ${JSON.stringify(message)} → ${response.status}: ${text}`)
      return JSON.parse(text)
    },
    readyz: async () => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(60_000) })).json(),
    output: started.output,
    stop: async () => {
      await started.stop("SIGTERM")
    }
  }
}
