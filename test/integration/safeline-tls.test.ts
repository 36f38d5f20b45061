// TLS to SafeLine as a default install serves it (self-signed): refused by default with a clear
// message, accepted with SAFELINE_VERIFY_TLS=false or with the certificate as SAFELINE_CA_BUNDLE.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { SafeLineClientLive } from "../../src/app/SafeLineLive.js"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import { fastConnection, startSimulator, TEST_TOKEN } from "../safeline/SafeLineFixture.js"
import { testConfig } from "../support/layers.js"
import { selfSignedCertificate } from "../support/selfSignedCertificate.js"

const dir = mkdtempSync(join(tmpdir(), "safeline-tls-"))
const certificate = selfSignedCertificate(dir)
const tls = { key: certificate.key, cert: certificate.cert }
const certPath = certificate.certPath

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("SafeLine over TLS with a self-signed certificate", () => {
  it.scopedLive("is refused when verifying without the CA, with what to do about it", () =>
    Effect.gen(function* () {
      const simulator = yield* startSimulator({ tls })
      expect(simulator.url.startsWith("https://")).toBe(true)
      const client = yield* SafeLineClient.make(fastConnection(simulator.url, { verifyTls: true, retries: 0 }))
      const exit = yield* Effect.exit(client.system)
      expect(exit).toMatchObject({ _tag: "Failure", cause: { error: { reason: "tls" } } })
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("SAFELINE_CA_BUNDLE")
    })
  )

  it.scopedLive("works with verification off, or with the certificate as the CA bundle", () =>
    Effect.gen(function* () {
      const simulator = yield* startSimulator({ tls })
      const insecure = yield* SafeLineClient.make(fastConnection(simulator.url, { verifyTls: false }))
      expect((yield* insecure.system).version).toContain("simulator")
      const pinned = yield* SafeLineClient.make(fastConnection(simulator.url, { verifyTls: true, ca: tls.cert }))
      expect((yield* pinned.listEvents({ pageSize: 1 })).nodes).toHaveLength(1)
    })
  )

  it.scopedLive("takes SAFELINE_VERIFY_TLS and SAFELINE_CA_BUNDLE from the configuration", () =>
    Effect.gen(function* () {
      const simulator = yield* startSimulator({ tls })
      const clientWith = (env: Record<string, string>) =>
        Effect.provide(
          SafeLineClient,
          SafeLineClientLive.pipe(
            Layer.provide(
              testConfig({ SAFELINE_URL: simulator.url, SAFELINE_API_TOKEN: TEST_TOKEN, SAFELINE_RETRIES: "0", ...env })
            )
          )
        )
      const strict = yield* clientWith({})
      expect(Exit.isFailure(yield* Effect.exit(strict.system))).toBe(true)
      const bundled = yield* clientWith({ SAFELINE_CA_BUNDLE: certPath })
      expect((yield* bundled.system).license.valid).toBe(true)
      const unverified = yield* clientWith({ SAFELINE_VERIFY_TLS: "false" })
      expect((yield* unverified.getMode).m_sqli).toBe("default")
    })
  )
})
