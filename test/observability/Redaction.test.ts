// What a trace, span or audit record may never carry in clear: confirmation codes, secret fields,
// and credentials or e-mail addresses hidden anywhere in free text.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { redactSecrets } from "../../src/observability/Redaction.js"
import { stampEvent } from "../../src/observability/TraceEvent.js"

describe("redactSecrets", () => {
  it("redacts every confirmation code and secret field, however many and however deep", () => {
    const redacted = redactSecrets({
      reply: "Reply `confirm 482913` within 5 minutes",
      again: "confirm 111111, or confirmation code: 222222",
      list: ["confirm 333333", { nested: { nonce: "444444", text: "confirm 555555" } }],
      token: "abc",
      client_secret: "cs-value",
      "x-api-key": "xk-value",
      count: 123456
    })
    const text = JSON.stringify(redacted)
    for (const secret of ["482913", "111111", "222222", "333333", "444444", "555555", "abc", "cs-value", "xk-value"])
      expect(text).not.toContain(secret)
    expect(text).toContain("confirm [redacted]")
    // A number that is not a confirmation code is data, not a secret.
    expect((redacted as Record<string, unknown>).count).toBe(123456)
  })

  it("returns the same object when there is nothing to redact (no copy per event)", () => {
    const metadata = {
      agent: "monitor",
      tool: "tool_get_traffic_stats",
      status: "ok",
      duration_seconds: 0.1,
      max_tokens: 512,
      status_code: 200,
      detail: "blocked 203.0.113.7 (CVE-2021-44228) via /api/open/events"
    }
    expect(redactSecrets(metadata)).toBe(metadata)
    expect(redactSecrets("confirmed the mode")).toBe("confirmed the mode")
  })

  it.each([
    ["key sk-proj-abcDEF1234567890abcdefXYZ used", "key [redacted:api_key] used"],
    ["OPENAI_API_KEY is sk-abcdefghijklmnopqrstuvwxyz012345", "OPENAI_API_KEY is [redacted:api_key]"],
    ["aws AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A", "aws [redacted:aws_key] and [redacted:aws_key]"],
    ["sent Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln ok", "sent Bearer [redacted:bearer_token] ok"],
    ["Authorization: Bearer abc.def.ghi next", "Authorization: [redacted:authorization] next"],
    ["curl -H 'Authorization: Basic dXNlcjpwYXNz' url", "curl -H 'Authorization: [redacted:authorization]' url"],
    [
      '{"Authorization":"Bearer a.b.c","Accept":"json"}',
      '{"Authorization":"[redacted:authorization]","Accept":"json"}'
    ],
    ["GET /x?user=bob&password=hunter2&page=1", "GET /x?user=bob&password=[redacted:password]&page=1"],
    ['{"password": "p@ss w0rd", "user": "bob"}', '{"password": "[redacted:password]", "user": "bob"}'],
    ['{"password":"a\\"b"}', '{"password":"[redacted:password]"}'],
    ["passwd: s3cr3t next", "passwd: [redacted:password] next"],
    ["pwd=abc", "pwd=[redacted:password]"],
    ["client_secret=xyz123&a=1", "client_secret=[redacted:secret]&a=1"],
    ["access_token=ya29.abc, then", "access_token=[redacted:token], then"],
    ["x-api-key: 12345abc", "x-api-key: [redacted:api_key]"],
    ["API_KEY='k-123'", "API_KEY='[redacted:api_key]'"],
    ["aws_secret_access_key=wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key=[redacted:secret]"],
    ["token: Bearer abcdef123", "token: [redacted:token] [redacted:bearer_token]"],
    ["https://admin:S3cret@safeline.local:9443/api", "https://admin:[redacted:password]@safeline.local:9443/api"],
    ["mail alice.smith+ops@example.co.uk now", "mail [redacted:email] now"],
    ["Reply `confirm 482913` soon", "Reply `confirm [redacted]` soon"]
  ])("redacts %j", (input, expected) => {
    expect(redactSecrets(input)).toBe(expected)
  })

  it.each([
    "blocked 203.0.113.7 and 2001:db8::1 for CVE-2021-44228",
    "GET /api/open/events?page=2&page_size=20",
    "event 482913 seen 3 times",
    "the bearer of bad news",
    "max_tokens=512 input_tokens: 90",
    "npm i @effect/vitest foo@1.2.3",
    "task-scheduler-sk-job",
    "akia is not a key",
    "http://safeline.local:9443/api/open/ip"
  ])("leaves ordinary text alone: %j", (input) => {
    expect(redactSecrets(input)).toBe(input)
  })

  it.effect("redacts a stamped trace event's metadata", () =>
    Effect.gen(function* () {
      const event = yield* stampEvent("tool_call", { args: "password=hunter2", to: "ops@example.com" })
      expect(event.metadata).toEqual({ args: "password=[redacted:password]", to: "[redacted:email]" })
    })
  )

  it("returns on 100 kB adversarial strings, still redacting what they hide", () => {
    const hidden = " password=hunter2 "
    const shapes = [
      "a".repeat(100_000),
      "a-".repeat(50_000),
      'password="'.repeat(10_000),
      "a@".repeat(50_000),
      `x@${"a.".repeat(50_000)}`,
      "a.".repeat(50_000),
      "sk-".repeat(33_000),
      "//a:".repeat(25_000),
      "authorization:".repeat(7_000),
      "Bearer ".repeat(14_000),
      `confirm${" ".repeat(100_000)}`,
      `"password":"\\`.repeat(8_000)
    ]
    for (const shape of shapes) {
      const out = redactSecrets(`${hidden}${shape}`)
      expect(typeof out).toBe("string")
      expect(out as string).not.toContain("hunter2")
    }
  })

  describe("property: secrets embedded in text or structures never survive; the text around them does", () => {
    const alnum = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9]{${min},${max}}$`))

    /** Each kind of secret as written in text, and the part that must disappear. */
    const secrets: fc.Arbitrary<{ readonly text: string; readonly secret: string }> = fc.oneof(
      fc
        .tuple(fc.constantFrom("sk-", "sk-proj-", "sk-svcacct-"), alnum(24, 48))
        .map(([prefix, body]) => ({ text: `${prefix}${body}`, secret: body })),
      fc
        .tuple(fc.constantFrom("AKIA", "ASIA"), fc.stringMatching(/^[A-Z0-9]{16}$/))
        .map(([prefix, body]) => ({ text: `${prefix}${body}`, secret: body })),
      fc
        .tuple(fc.constantFrom("Bearer", "bearer"), fc.stringMatching(/^[A-Za-z0-9._~+/-]{16,64}$/))
        .map(([scheme, token]) => ({ text: `${scheme} ${token}`, secret: token })),
      fc
        .tuple(
          fc.constantFrom("password", "PASSWORD", "passwd", "pwd", "secret", "client_secret", "token"),
          fc.constantFrom("access_token", "api_key", "apikey", "x-api-key", "aws_secret_access_key"),
          fc.constantFrom("k=v", "k: v", '"k": "v"', "'k':'v'", "?k=v&page=2", "k=v;"),
          fc.stringMatching(/^[A-Za-z0-9!#$%*+/=@^_~.-]{8,32}$/)
        )
        .chain(([a, b, format, value]) =>
          fc.constantFrom(a, b).map((key) => ({ text: format.replace("k", key).replace("v", value), secret: value }))
        ),
      fc
        .tuple(
          fc.constantFrom("Basic", "Bearer", "Digest", "Negotiate", ""),
          fc.stringMatching(/^[A-Za-z0-9+/]{11,39}[0-9]={0,2}$/),
          fc.constantFrom(
            "Authorization: s c",
            "authorization=s c",
            '"Authorization": "s c"',
            "Proxy-Authorization: s c"
          )
        )
        .map(([scheme, credentials, format]) => ({
          text: format.replace("s c", scheme === "" ? credentials : `${scheme} ${credentials}`),
          secret: credentials
        })),
      fc
        .tuple(
          fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,15}$/),
          fc.array(fc.stringMatching(/^[a-z0-9]{1,10}$/), { minLength: 1, maxLength: 3 }),
          fc.stringMatching(/^[a-z]{2,6}$/)
        )
        .map(([local, labels, tld]) => {
          const address = `${local}@${labels.join(".")}.${tld}`
          return { text: address, secret: address }
        })
    )

    /** Ordinary words, IPs, CVEs and paths, none of which is a secret. */
    const words = fc.array(
      fc.oneof(
        fc.constantFrom("blocked", "203.0.113.7", "2001:db8::1", "CVE-2021-44228", "/api/open/events", "GET", "sqli"),
        fc.stringMatching(/^[a-z]{3,12}$/).filter((w) => w !== "bearer")
      ),
      { maxLength: 6 }
    )

    /** Somewhere in a nested structure, under keys that are not secret-named. */
    const placements = fc.constantFrom<(text: string) => unknown>(
      (t) => t,
      (t) => [t],
      (t) => ({ message: t }),
      (t) => ({ tool: "tool_get_attack_events", args: { query: [1, { detail: t }] } }),
      (t) => [{ note: "ok" }, [t, "tail"]]
    )

    it("for every kind of secret, in any surrounding text and structure", () => {
      fc.assert(
        fc.property(
          secrets,
          words,
          words,
          fc.boolean(),
          placements,
          ({ text, secret }, before, after, twice, place) => {
            const sentence = [...before, text, ...after, ...(twice ? [text] : [])].join(" ")
            const out = JSON.stringify(redactSecrets(place(sentence)))
            expect(out).not.toContain(secret)
            for (const word of [...before, ...after]) expect(out).toContain(word)
          }
        ),
        { numRuns: 3000 }
      )
    })
  })
})
