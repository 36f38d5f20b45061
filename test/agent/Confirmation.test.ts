// Confirmation codes: keyed hashes bound to principal and session, expiry, attempts; and the code
// key the ConfirmationGuard layer resolves (env, file, per process, or a refused start-up).
import { createHash, randomBytes } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { checkConfirmation, hashCode, issueConfirmation } from "../../src/agent/Confirmation.js"
import { ConfirmationGuard, type ConfirmationGuardService } from "../../src/agent/ConfirmationGuard.js"
import { AppConfig } from "../../src/config/AppConfig.js"

const KEY = Buffer.from("k".repeat(32))
const OTHER_KEY = Buffer.from("o".repeat(32))
const alice = { principal: "alice", sessionId: "s1" }

const issue = (binding = alice, now = 1_000_000, key = KEY) =>
  issueConfirmation({
    key,
    binding,
    action: "set_mode",
    params: { mode: "block" },
    summary: "block",
    now,
    ttlSeconds: 300
  })

const wrongCode = (code: string) => (code === "000000" ? "000001" : "000000")

describe("confirmation codes", () => {
  it("are 6 digits, random, and stored only as a keyed hash", () => {
    const codes = new Set(Array.from({ length: 50 }, () => issue().code))
    expect(codes.size).toBeGreaterThan(45)
    const { code, pending } = issue()
    expect(code).toMatch(/^\d{6}$/)
    expect(JSON.stringify(pending)).not.toContain(code)
    expect(pending.nonceHash).toBe(hashCode(KEY, alice, code))
    // Not the unkeyed hash of before, which a Redis dump would give away in a million tries.
    expect(pending.nonceHash).not.toBe(createHash("sha256").update(`s1\u0000${code}`).digest("hex"))
    expect(pending.expiresAt).toBe(1_000_000 + 300_000)
  })

  it("hash differently under another key, principal or session", () => {
    const base = hashCode(KEY, alice, "123456")
    expect(hashCode(KEY, alice, "123456")).toBe(base)
    expect(hashCode(OTHER_KEY, alice, "123456")).not.toBe(base)
    expect(hashCode(KEY, { principal: "bob", sessionId: "s1" }, "123456")).not.toBe(base)
    expect(hashCode(KEY, { principal: "alice", sessionId: "s2" }, "123456")).not.toBe(base)
    expect(hashCode(KEY, alice, "123457")).not.toBe(base)
    // Field boundaries cannot be shifted to forge a binding.
    expect(hashCode(KEY, { principal: "a", sessionId: "b\u0000c" }, "1")).not.toBe(
      hashCode(KEY, { principal: "a\u0000b", sessionId: "c" }, "1")
    )
  })

  it("without the key, none of the million codes matches a stored hash (no offline brute force)", () => {
    const { code, pending } = issue()
    let matches = 0
    for (let n = 0; n < 1_000_000; n++) {
      if (hashCode(OTHER_KEY, alice, String(n).padStart(6, "0")) === pending.nonceHash) matches++
    }
    expect(matches).toBe(0)
    expect(hashCode(KEY, alice, code)).toBe(pending.nonceHash)
  })

  it("match only the right code, key, principal and session, before expiry", () => {
    const { code, pending } = issue()
    const check = (given: string, binding = alice, now = 1_000_001, key = KEY) =>
      checkConfirmation({ key, binding, pending, code: given, now, maxAttempts: 3 }).result
    expect(check(code)).toBe("nonce_match")
    expect(check(code, { principal: "alice", sessionId: "s2" })).toBe("nonce_mismatch")
    expect(check(code, { principal: "bob", sessionId: "s1" })).toBe("nonce_mismatch")
    expect(check(code, alice, 1_000_001, OTHER_KEY)).toBe("nonce_mismatch")
    expect(check(wrongCode(code))).toBe("nonce_mismatch")
    expect(check(code, alice, 1_000_000 + 300_001)).toBe("expired")
  })

  it("cancel after the maximum of wrong attempts", () => {
    const { code, pending } = issue()
    const wrong = wrongCode(code)
    const attempt = (p: typeof pending) =>
      checkConfirmation({ key: KEY, binding: alice, pending: p, code: wrong, now: 1, maxAttempts: 3 })
    const first = attempt(pending)
    expect(first.result).toBe("nonce_mismatch")
    if (first.result !== "nonce_mismatch") return
    const second = attempt(first.pending)
    expect(second.result).toBe("nonce_mismatch")
    if (second.result !== "nonce_mismatch") return
    expect(attempt(second.pending).result).toBe("too_many_attempts")
  })
})

const guardWith = (env: Record<string, string>) =>
  Layer.build(ConfirmationGuard.layer.pipe(Layer.provide(AppConfig.layerWith(env)))).pipe(
    Effect.map(Context.get(ConfirmationGuard))
  )

/** A code issued by one guard, checked by another: does it match? */
const crossCheck = (issuer: ConfirmationGuardService, checker: ConfirmationGuardService) =>
  Effect.gen(function* () {
    const { code, pending } = yield* issuer.issue({
      binding: alice,
      action: "set_mode",
      params: { mode: "block" },
      summary: "block",
      now: 0,
      ttlSeconds: 300
    })
    const check = yield* checker.check({ binding: alice, pending, code, now: 1, maxAttempts: 3 })
    return check.result
  })

const scratch = () => mkdtempSync(join(tmpdir(), "code-key-"))

describe("ConfirmationGuard's code key", () => {
  it.scoped(
    "ASSISTANT_CODE_KEY and ASSISTANT_CODE_KEY_FILE (trimmed) give the same key; another key never matches",
    () =>
      Effect.gen(function* () {
        const key = randomBytes(24).toString("hex")
        const file = join(scratch(), "code-key")
        writeFileSync(file, `  ${key}\n`)
        const fromEnv = yield* guardWith({ ASSISTANT_CODE_KEY: key })
        const fromFile = yield* guardWith({ ASSISTANT_CODE_KEY_FILE: file })
        const other = yield* guardWith({ ASSISTANT_CODE_KEY: randomBytes(24).toString("hex") })
        expect(yield* crossCheck(fromEnv, fromFile)).toBe("nonce_match")
        expect(yield* crossCheck(fromFile, fromEnv)).toBe("nonce_match")
        expect(yield* crossCheck(fromEnv, other)).toBe("nonce_mismatch")
      })
  )

  it.scoped("with SESSION_STORE=memory and no key, each process makes its own key", () =>
    Effect.gen(function* () {
      const a = yield* guardWith({})
      const b = yield* guardWith({})
      expect(yield* crossCheck(a, a)).toBe("nonce_match")
      expect(yield* crossCheck(a, b)).toBe("nonce_mismatch")
    })
  )

  it.scoped("SESSION_STORE=redis without a key refuses to start, saying why and what to do", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(guardWith({ SESSION_STORE: "redis", REDIS_URL: "redis://127.0.0.1:1/0" }))
      expect(error._tag).toBe("ConfirmationKeyUnavailable")
      expect(error.message).toContain("SESSION_STORE=redis needs ASSISTANT_CODE_KEY or ASSISTANT_CODE_KEY_FILE")
      expect(error.message).toMatch(/shared by every replica/)
      expect(error.message).toMatch(/never stored in Redis/)
    })
  )

  it.scoped("refuses a short key, an unreadable key file, and both sources at once", () =>
    Effect.gen(function* () {
      const short = yield* Effect.flip(guardWith({ ASSISTANT_CODE_KEY: "x".repeat(31) }))
      expect(short.message).toMatch(/ASSISTANT_CODE_KEY is 31 characters long.*at least 32/)
      expect(short.message).not.toContain("x".repeat(31))
      const file = join(scratch(), "short-key")
      writeFileSync(file, `${"y".repeat(20)}            \n`)
      const shortFile = yield* Effect.flip(guardWith({ ASSISTANT_CODE_KEY_FILE: file }))
      expect(shortFile.message).toMatch(/ASSISTANT_CODE_KEY_FILE.*20 characters long/)
      const missing = yield* Effect.flip(guardWith({ ASSISTANT_CODE_KEY_FILE: join(scratch(), "absent") }))
      expect(missing.message).toMatch(/Cannot read ASSISTANT_CODE_KEY_FILE .*absent.*ENOENT/)
      const both = yield* Effect.flip(guardWith({ ASSISTANT_CODE_KEY: "z".repeat(40), ASSISTANT_CODE_KEY_FILE: file }))
      expect(both.message).toMatch(/only one of them/)
      // With a key, redis mode starts (even with Redis down).
      const started = yield* Effect.either(
        guardWith({ SESSION_STORE: "redis", REDIS_URL: "redis://127.0.0.1:1/0", ASSISTANT_CODE_KEY: "z".repeat(40) })
      )
      expect(started._tag).toBe("Right")
    })
  )
})
