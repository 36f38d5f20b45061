// The OpenAI-compatible stand-in the reliability tests use (test/reliability/OpenAiStandIn.ts,
// loaded as TypeScript by Node's type stripping), answering a routing prompt "monitor" and any
// other prompt with one sentence. `startLlmStub()` runs it in the calling process (whose CPU is
// then not the server's under test); `node bench/llmStub.mjs` runs it on its own and prints
// `LLM_STUB <baseUrl>`, for a benchmark that must not count its CPU.
import { fileURLToPath } from "node:url"
import { startOpenAiStandIn } from "../test/reliability/OpenAiStandIn.ts"

const REPLY = "Traffic is steady at about twenty requests per second."

export const startLlmStub = async () => {
  const standIn = await startOpenAiStandIn(0, (purpose) => (purpose === "route" ? "monitor" : REPLY))
  return { baseUrl: standIn.baseUrl, stop: standIn.close }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stub = await startLlmStub()
  console.log(`LLM_STUB ${stub.baseUrl}`)
}
