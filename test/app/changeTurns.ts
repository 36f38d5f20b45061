// Chat turns that ask for a WAF change and confirm it, through the HTTP API.
import { expect } from "@effect/vitest"
import { Effect } from "effect"

export const chat = (url: string, message: string, sessionId: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, session_id: sessionId })
    })
    return { status: response.status, ...((await response.json()) as { reply: string; pending_action?: unknown }) }
  })

/** Asks for a change and confirms it with the code the reply gave; both replies. */
export const askAndConfirm = (url: string, message: string, sessionId: string) =>
  Effect.gen(function* () {
    const asked = yield* chat(url, message, sessionId)
    const code = asked.reply.match(/confirm (\d{6})/)?.[1]
    expect(code, asked.reply).toBeDefined()
    return { asked, confirmed: yield* chat(url, `confirm ${code}`, sessionId) }
  })
