import { describe, expect, it } from "vitest"
import { checkConfirmation, issueConfirmation } from "../../src/agent/Confirmation.js"

const issue = (sessionId = "s1", now = 1_000_000) =>
  issueConfirmation({
    sessionId,
    action: "set_mode",
    params: { mode: "block" },
    summary: "block",
    now,
    ttlSeconds: 300
  })

describe("confirmation codes", () => {
  it("are 6 digits, random, and stored only as a hash", () => {
    const codes = new Set(Array.from({ length: 50 }, () => issue().code))
    expect(codes.size).toBeGreaterThan(45)
    const { code, pending } = issue()
    expect(code).toMatch(/^\d{6}$/)
    expect(JSON.stringify(pending)).not.toContain(code)
    expect(pending.expiresAt).toBe(1_000_000 + 300_000)
  })

  it("match only the right code in the same session, before expiry", () => {
    const { code, pending } = issue("s1")
    const check = (sessionId: string, given: string, now = 1_000_001) =>
      checkConfirmation({ sessionId, pending, code: given, now, maxAttempts: 3 }).result
    expect(check("s1", code)).toBe("nonce_match")
    expect(check("s2", code)).toBe("nonce_mismatch")
    expect(check("s1", code === "000000" ? "000001" : "000000")).toBe("nonce_mismatch")
    expect(check("s1", code, 1_000_000 + 300_001)).toBe("expired")
  })

  it("cancel after the maximum of wrong attempts", () => {
    const { code, pending } = issue()
    const wrong = code === "111111" ? "222222" : "111111"
    const first = checkConfirmation({ sessionId: "s1", pending, code: wrong, now: 1, maxAttempts: 3 })
    expect(first.result).toBe("nonce_mismatch")
    if (first.result !== "nonce_mismatch") return
    const second = checkConfirmation({ sessionId: "s1", pending: first.pending, code: wrong, now: 1, maxAttempts: 3 })
    expect(second.result).toBe("nonce_mismatch")
    if (second.result !== "nonce_mismatch") return
    expect(
      checkConfirmation({ sessionId: "s1", pending: second.pending, code: wrong, now: 1, maxAttempts: 3 }).result
    ).toBe("too_many_attempts")
  })
})
