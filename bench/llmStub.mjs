// An OpenAI-compatible chat-completions stub on 127.0.0.1: a routing prompt is answered "monitor",
// any other prompt with one sentence; GET answers the model list. `startLlmStub()` runs it in the
// calling process (whose CPU is then not the server's under test); `node bench/llmStub.mjs` runs
// it on its own and prints `LLM_STUB <baseUrl>`, for a benchmark that must not count its CPU.
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"

const completion = (model, content) =>
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 321, completion_tokens: 23, total_tokens: 344 }
  })

export const startLlmStub = async () => {
  const server = createServer((req, res) => {
    let body = ""
    req.on("data", (chunk) => {
      body += chunk
    })
    req.on("end", () => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "application/json" })
        return res.end(JSON.stringify({ object: "list", data: [{ id: "bench-model", object: "model" }] }))
      }
      const request = JSON.parse(body)
      const system = String(request.messages?.[0]?.content ?? "")
      const route = system.startsWith("You route messages")
      res.writeHead(200, { "content-type": "application/json" })
      res.end(completion(request.model, route ? "monitor" : "Traffic is steady at about twenty requests per second."))
    })
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    baseUrl: `http://127.0.0.1:${server.address().port}/v1`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(resolve)
      })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stub = await startLlmStub()
  console.log(`LLM_STUB ${stub.baseUrl}`)
}
