import { describe, expect, it } from "vitest"
import { redactSecrets } from "../../src/observability/TraceEvent.js"

describe("redactSecrets", () => {
  it("redacts every confirmation code and secret field, however many and however deep", () => {
    const redacted = redactSecrets({
      reply: "Reply `confirm 482913` within 5 minutes",
      again: "confirm 111111, or confirmation code: 222222",
      list: ["confirm 333333", { nested: { nonce: "444444", text: "confirm 555555" } }],
      token: "abc",
      count: 123456
    })
    const text = JSON.stringify(redacted)
    for (const code of ["482913", "111111", "222222", "333333", "444444", "555555", "abc"])
      expect(text).not.toContain(code)
    expect(text).toContain("confirm [redacted]")
    // A number that is not a confirmation code is data, not a secret.
    expect((redacted as Record<string, unknown>).count).toBe(123456)
  })

  it("returns the same object when there is nothing to redact (no copy per event)", () => {
    const metadata = { agent: "monitor", tool: "tool_get_traffic_stats", status: "ok", duration_seconds: 0.1 }
    expect(redactSecrets(metadata)).toBe(metadata)
    expect(redactSecrets("confirmed the mode")).toBe("confirmed the mode")
  })
})
