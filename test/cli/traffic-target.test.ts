// Where `security-agent traffic` may send attack payloads: loopback and private targets only
// (unless --i-own-this-target), every resolved address checked, and hostile spellings of a public
// address (decimal, hex, IPv4-mapped IPv6, credentials, other schemes) refused.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { loggableTarget } from "../../src/cli/TrafficCommand.js"
import { checkTarget, classifyAddress, type Resolve } from "../../src/cli/TrafficTarget.js"

/** A resolver for names under .test, so no test depends on real DNS. */
const FAKE_DNS: Record<string, ReadonlyArray<string>> = {
  "intranet.test": ["10.20.30.40"],
  "dual.test": ["192.168.1.7", "fd12:3456::7"],
  "public.test": ["93.184.216.34"],
  "mixed.test": ["10.0.0.5", "93.184.216.34"],
  "mapped.test": ["::ffff:1.1.1.1"],
  "metadata.test": ["169.254.169.254"],
  "empty.test": []
}
const fakeResolve: Resolve = async (host) => {
  const addresses = FAKE_DNS[host]
  if (addresses === undefined) throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" })
  return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
}

const allowed = (url: string, iOwnThisTarget = false) => checkTarget(url, { iOwnThisTarget, resolve: fakeResolve })
const refused = (url: string, iOwnThisTarget = false) =>
  Effect.map(Effect.flip(checkTarget(url, { iOwnThisTarget, resolve: fakeResolve })), (e) => e.message)

describe("traffic targets", () => {
  it.effect("loopback, RFC 1918 and ULA targets are allowed, pinned to the checked address", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["http://127.0.0.1:8888", "127.0.0.1", "loopback"],
        ["http://127.9.9.9/", "127.9.9.9", "loopback"],
        ["http://[::1]:8080/shop/", "::1", "loopback"],
        ["http://10.1.2.3", "10.1.2.3", "private"],
        ["http://172.16.0.1", "172.16.0.1", "private"],
        ["http://172.31.255.254", "172.31.255.254", "private"],
        ["https://192.168.1.10:8443", "192.168.1.10", "private"],
        ["http://[fd00::10]:8080", "fd00::10", "uniqueLocal"],
        ["http://[::ffff:127.0.0.1]:8080", "127.0.0.1", "loopback"],
        ["http://intranet.test:8888", "10.20.30.40", "private"],
        ["http://dual.test", "192.168.1.7", "private"],
        // Decimal and hex spellings are normalised by the URL parser before the check.
        ["http://2130706433:8080", "127.0.0.1", "loopback"],
        ["http://0x7f.1/", "127.0.0.1", "loopback"],
        ["http://0xC0A80001/", "192.168.0.1", "private"]
      ]
      for (const [url, address, range] of cases) {
        const target = yield* allowed(url)
        expect(target.address, url).toBe(address)
        expect(target.range, url).toBe(range)
        expect(target.owned, url).toBe(false)
      }
      const withPath = yield* allowed("http://127.0.0.1:8888/shop/?q=1#top")
      expect(withPath.url.href).toBe("http://127.0.0.1:8888/shop")
    })
  )

  it.effect("public targets are refused, however the address is spelled, naming --i-own-this-target", () =>
    Effect.gen(function* () {
      for (const url of [
        "http://8.8.8.8",
        "http://134744072/", // 8.8.8.8 in decimal
        "http://0x08080808/", // in hex
        "http://0x8.0x8.0x8.0x8/",
        "http://[::ffff:8.8.8.8]/", // IPv4-mapped IPv6
        "http://[::ffff:808:808]/",
        "http://[2606:4700:4700::1111]/",
        "http://[64:ff9b::a00:1]/", // NAT64 of 10.0.0.1: leaves the site
        "http://172.32.0.1", // just outside 172.16/12
        "http://public.test",
        "http://mapped.test"
      ]) {
        const message = yield* refused(url)
        expect(message, url).toContain("outside loopback and private ranges")
        expect(message, url).toContain("--i-own-this-target")
      }
    })
  )

  it.effect("a name is refused when any of its addresses is public, not just the first", () =>
    Effect.gen(function* () {
      const message = yield* refused("http://mixed.test:8080")
      expect(message).toContain("93.184.216.34")
    })
  )

  it.effect("link-local (the cloud metadata service) and CGNAT need --i-own-this-target too", () =>
    Effect.gen(function* () {
      for (const url of ["http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://100.64.0.1"]) {
        expect(yield* refused(url), url).toContain("--i-own-this-target")
      }
      expect(yield* refused("http://metadata.test")).toContain("linkLocal")
    })
  )

  it.effect("unspecified, broadcast and multicast addresses are never targets, even when owned", () =>
    Effect.gen(function* () {
      for (const url of ["http://0.0.0.0:8080", "http://[::]/", "http://255.255.255.255", "http://224.0.0.1"]) {
        const message = yield* refused(url, true)
        expect(message, url).toContain("not a host to send traffic to")
      }
    })
  )

  it.effect("hostile URLs: credentials, other schemes, control characters, no host, unresolvable", () =>
    Effect.gen(function* () {
      const withCredentials = yield* refused("http://admin:hunter2@127.0.0.1:8080/", true)
      expect(withCredentials).toContain("must not hold credentials")
      expect(withCredentials).not.toContain("hunter2")
      expect(yield* refused("http://token@127.0.0.1/")).toContain("must not hold credentials")
      for (const url of ["file:///etc/passwd", "ftp://127.0.0.1/", "javascript:alert(1)", "gopher://127.0.0.1:25/"]) {
        expect(yield* refused(url, true), url).toContain("must be an http:// or https:// URL")
      }
      for (const url of [
        "127.0.0.1:8080",
        "not a url",
        "http://127.0.0.1/\r\nX-Injected: 1",
        "http://127.0.0.1/\u0000",
        `http://127.0.0.1/${"a".repeat(3000)}`,
        "http://",
        ""
      ]) {
        const message = yield* refused(url, true)
        expect(message, JSON.stringify(url)).toMatch(/not a URL|has no host|must be an http/)
        expect(message).not.toMatch(/[\r\n\u0000]/)
        expect(message.length).toBeLessThan(400)
      }
      expect(yield* refused("http://nowhere.test/")).toContain("does not resolve")
      expect(yield* refused("http://empty.test/")).toContain("does not resolve")
    })
  )

  it.effect("--i-own-this-target allows a public target, marked as owned", () =>
    Effect.gen(function* () {
      const target = yield* allowed("https://public.test/app", true)
      expect(target.owned).toBe(true)
      expect(target.address).toBe("93.184.216.34")
      expect(target.url.href).toBe("https://public.test/app")
      expect((yield* allowed("http://169.254.10.10", true)).range).toBe("linkLocal")
    })
  )

  it.effect("the real resolver: localhost is loopback", () =>
    Effect.gen(function* () {
      const target = yield* checkTarget("http://localhost:8080", { iOwnThisTarget: false })
      expect(classifyAddress(target.address).class).toBe("local")
    })
  )
})

describe("traffic targets: cloud metadata and logs", () => {
  it("treats AWS's IPv6 metadata range (inside the ULA range) as needing --i-own-this-target", () => {
    expect(classifyAddress("fd00:ec2::254")).toEqual({ range: "cloudMetadata", class: "owned" })
    expect(classifyAddress("fd00:ec2::253").class).toBe("owned")
    expect(classifyAddress("fd12:3456::7").class).toBe("local")
  })

  it("never logs a refused target's password or query token", () => {
    expect(loggableTarget("http://admin:S3cr3tPass@127.0.0.1:1/x?token=abc#frag")).toBe("http://127.0.0.1:1/x")
    expect(loggableTarget("not a url://user:pw@host/p?secret=1")).not.toMatch(/pw|secret/)
  })
})
