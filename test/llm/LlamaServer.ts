// A real language model for the LLM suite: llama.cpp's OpenAI-compatible server (llama-cpp-python)
// with SmolLM2-135M on 127.0.0.1, started, killed and restarted by the tests, behind a recording
// proxy that keeps every request the server received and every `usage` it returned.
import { appendFileSync, existsSync } from "node:fs"
import { createServer, request as httpRequest, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { freePort, type Started, startProcess } from "../support/processes.js"
import { repoPath } from "../support/tools.js"

/** The venv's python (LLM_PYTHON) and the GGUF model (LLM_GGUF); .ci/run prepares both. */
export const LLM_PYTHON = process.env.LLM_PYTHON ?? repoPath(".cache", "llm-venv", "bin", "python")
export const LLM_GGUF = process.env.LLM_GGUF ?? repoPath(".cache", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
/** A file the proxies append one line per exchange to (LLM_PROXY_LOG), to watch a slow run. */
const PROXY_LOG = process.env.LLM_PROXY_LOG
/** Extra server flags (LLAMA_SERVER_ARGS), e.g. `--n_threads 2`. */
const EXTRA_ARGS = (process.env.LLAMA_SERVER_ARGS ?? "").split(/\s+/).filter((a) => a !== "")

export const realModelAvailable = (): boolean => existsSync(LLM_PYTHON) && existsSync(LLM_GGUF)

export interface LlamaServer {
  readonly port: number
  readonly start: () => Promise<void>
  /** SIGKILL: the server vanishes mid-conversation, as a crashed one does. */
  readonly kill: () => Promise<void>
}

/** One llama.cpp server on a fixed port (so a restart is found at the same address). */
export const llamaServer = async (options: { embedding?: boolean; nCtx?: number } = {}): Promise<LlamaServer> => {
  const port = await freePort()
  let running: Started | undefined
  const args = [
    "-m",
    "llama_cpp.server",
    "--model",
    LLM_GGUF,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--n_ctx",
    String(options.nCtx ?? 2048),
    ...(options.embedding === true ? ["--embedding", "true", "--kv_overrides", "llama.pooling_type=int:1"] : []),
    ...EXTRA_ARGS
  ]
  return {
    port,
    start: async () => {
      running = await startProcess(LLM_PYTHON, args, {
        ready: /Uvicorn running on/,
        timeoutMs: 120_000,
        // llama.cpp's OpenMP threads spin while they wait: on two cores shared with other work a
        // descheduled thread stalls its partner, and a long prompt takes twice as long.
        env: { OMP_WAIT_POLICY: "PASSIVE" }
      })
    },
    kill: async () => {
      await running?.stop("SIGKILL")
      running = undefined
    }
  }
}

export interface RecordedCall {
  readonly path: string
  /** The request as the product sent it (before the proxy's `rewrite`). */
  readonly request: any
  readonly status: number
  readonly response: any
  readonly ms: number
}

/** The longest reply the proxy lets the server write in this suite. */
export const SUITE_MAX_TOKENS = 64

/**
 * What the proxy changes in every chat completion: greedy sampling with a fixed seed, so the same
 * prompt gets the same answer run after run (the product leaves sampling to the server), and
 * replies cut to SUITE_MAX_TOKENS: on two shared CPU cores a 135M model writes about 25 tokens a
 * second and fills any room it is given, while the product must cope with a cut reply anyway.
 */
export const suiteSampling = (request: Record<string, unknown>): Record<string, unknown> => ({
  ...request,
  temperature: 0,
  seed: 42,
  max_tokens: Math.min(Number(request.max_tokens ?? SUITE_MAX_TOKENS), SUITE_MAX_TOKENS)
})

export interface RecordingProxy {
  readonly baseUrl: string
  readonly calls: Array<RecordedCall>
  readonly close: () => Promise<void>
}

/**
 * Forwards to the server on `upstreamPort` and records each exchange. When the server is gone
 * the client's connection is dropped, exactly what a dead server looks like to it.
 */
export const recordingProxy = async (
  upstreamPort: number,
  rewrite: (request: Record<string, unknown>) => Record<string, unknown> = suiteSampling
): Promise<RecordingProxy> => {
  const calls: Array<RecordedCall> = []
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const started = performance.now()
      const sent = Buffer.concat(chunks)
      const request = parseJson(sent.toString())
      const body =
        req.url?.endsWith("/chat/completions") === true && typeof request === "object" && request !== null
          ? Buffer.from(JSON.stringify(rewrite(request)))
          : sent
      const upstream = httpRequest(
        {
          host: "127.0.0.1",
          port: upstreamPort,
          method: req.method,
          path: req.url,
          headers: {
            ...Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== "transfer-encoding")),
            host: `127.0.0.1:${upstreamPort}`,
            "content-length": String(body.length)
          }
        },
        (answer) => {
          const parts: Array<Buffer> = []
          answer.on("data", (c: Buffer) => parts.push(c))
          answer.on("end", () => {
            const text = Buffer.concat(parts)
            if (req.method === "POST") {
              if (PROXY_LOG !== undefined)
                appendFileSync(
                  PROXY_LOG,
                  `${new Date().toISOString()} ${req.url} ${answer.statusCode} ${Math.round(performance.now() - started)}ms max_tokens=${request?.max_tokens} usage=${JSON.stringify(parseJson(text.toString())?.usage ?? null)}\n`
                )
              calls.push({
                path: req.url ?? "",
                request,
                status: answer.statusCode ?? 0,
                response: parseJson(text.toString()),
                ms: performance.now() - started
              })
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers)
            res.end(text)
          })
        }
      )
      upstream.on("error", () => req.socket.destroy())
      upstream.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

const parseJson = (text: string): any => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
