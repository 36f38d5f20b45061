// A stand-in for an OpenAI-compatible endpoint on 127.0.0.1 (POST /v1/chat/completions, GET
// /v1/models) whose behaviour a test switches: answer, answer slowly, answer garbage, fail.
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export type StandInMode = "ok" | "slow" | "malformed" | "http500"

export interface OpenAiStandIn {
  readonly baseUrl: string
  readonly setMode: (mode: StandInMode) => void
  /** Chat completion requests received, by purpose (route / compose / other). */
  readonly calls: Array<{ purpose: string; model: string }>
  readonly close: () => Promise<void>
}

/** What the model answers for a compose request: the reply a user should then see verbatim. */
export const MODEL_REPLY =
  "MODEL: traffic is steady at about twenty requests per second; nothing is being blocked wrongly."

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = ""
    req.on("data", (chunk) => (body += chunk))
    req.on("end", () => resolve(body))
  })

const completion = (model: string, content: string) => ({
  id: "chatcmpl-reliability",
  object: "chat.completion",
  created: Math.floor(Date.now() / 1000),
  model,
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop", logprobs: null }],
  usage: { prompt_tokens: 321, completion_tokens: 23, total_tokens: 344 }
})

/**
 * `answer` (optional) decides what a chat completion says, by purpose; by default routes are
 * "monitor" and everything else MODEL_REPLY.
 */
export const startOpenAiStandIn = async (
  slowMs = 3000,
  answer: (purpose: string) => string = (purpose) => (purpose === "route" ? "monitor" : MODEL_REPLY)
): Promise<OpenAiStandIn> => {
  let mode: StandInMode = "ok"
  const calls: Array<{ purpose: string; model: string }> = []
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req)
    if (req.method === "GET" && req.url?.endsWith("/models")) {
      res.writeHead(mode === "http500" ? 500 : 200, { "content-type": "application/json" })
      res.end(JSON.stringify({ object: "list", data: [{ id: "test-model", object: "model" }] }))
      return
    }
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      res.writeHead(404).end()
      return
    }
    const request = JSON.parse(body) as { model: string; messages: Array<{ role: string; content: string }> }
    const system = String(request.messages[0]?.content ?? "")
    const purpose = system.startsWith("You route messages") ? "route" : "compose"
    calls.push({ purpose, model: request.model })
    if (mode === "slow") await new Promise((resolve) => setTimeout(resolve, slowMs))
    if (mode === "http500") {
      res.writeHead(500, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: "the model server broke", type: "server_error" } }))
      return
    }
    if (mode === "malformed") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end('{"id": "chatcmpl-x", "choices": [ this is not JSON')
      return
    }
    if (res.destroyed) return
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify(completion(request.model, answer(purpose))))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    setMode: (next) => {
      mode = next
    },
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
