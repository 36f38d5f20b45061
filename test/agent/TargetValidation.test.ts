// What may be blacklisted, and in which exact form: the target accepted here is the text the
// operator confirms and SafeLine receives, so it must never differ from what was meant.

import { BlockList } from "node:net"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { validateTarget } from "../../src/agent/TargetValidation.js"

const policy = { minPrefixV4: 16, minPrefixV6: 48, protectedAddresses: ["192.0.2.10"] }

type Expected = readonly [raw: string, outcome: string]

/** Accepted inputs, with the canonical target that will be shown and written. */
const accepted: ReadonlyArray<Expected> = [
  ["203.0.113.7", "203.0.113.7"],
  ["  203.0.113.7  ", "203.0.113.7"],
  ["198.51.100.0/24", "198.51.100.0/24"],
  ["192.0.2.11", "192.0.2.11"],
  ["203.0.113.0/24", "203.0.113.0/24"],
  ["10.0.0.0/16", "10.0.0.0/16"],
  ["10.1.2.3", "10.1.2.3"],
  ["192.168.1.5", "192.168.1.5"],
  ["203.0.113.7/32", "203.0.113.7/32"],
  ["2001:db8::1", "2001:db8::1"],
  ["2001:DB8::DEAD", "2001:db8::dead"],
  ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["2001:db8::/48", "2001:db8::/48"],
  ["2001:db8:1::/64", "2001:db8:1::/64"],
  ["::ffff:10.0.0.1", "10.0.0.1"],
  ["::ffff:203.0.113.9/128", "203.0.113.9/32"],
  ["::ffff:cb00:7100/120", "203.0.113.0/24"],
  ["0:0:0:0:0:ffff:c633:6417", "198.51.100.23"],
  ["2001:db8::203.0.113.7", "2001:db8::cb00:7107"]
]

/** Refused inputs, with the reason the guardrail records. */
const refused: ReadonlyArray<Expected> = [
  // Malformed: never guessed at, never trimmed down to something valid.
  ["999.1.1.1", "invalid_ip"],
  ["203.0.113", "invalid_ip"],
  ["abc", "invalid_ip"],
  ["", "invalid_ip"],
  ["203.0.113.7/33", "invalid_ip"],
  ["2001:db8::/129", "invalid_ip"],
  ["1.2.3.4/x", "invalid_ip"],
  ["1.2.3.4/8/9", "invalid_ip"],
  ["1.2.3.4/16/8", "invalid_ip"],
  ["1.2.3.4/-1", "invalid_ip"],
  ["1.2.3.4/", "invalid_ip"],
  ["1.2.3.4/033", "invalid_ip"],
  ["1.2.3.4/+24", "invalid_ip"],
  ["1.2.3.4/ 24", "invalid_ip"],
  ["0x7f.1", "invalid_ip"],
  ["127.1", "invalid_ip"],
  ["010.0.0.1", "invalid_ip"],
  ["203.0.113.07", "invalid_ip"],
  ["2130706433", "invalid_ip"],
  ["0x7f000001", "invalid_ip"],
  ["fe80::1%eth0", "invalid_ip"],
  ["2001:db8::1%1", "invalid_ip"],
  ["[2001:db8::1]", "invalid_ip"],
  ["::ffff:127.0.0.01", "invalid_ip"],
  ["::ffff:127.1", "invalid_ip"],
  ["::ffff:0x7f.0.0.1", "invalid_ip"],
  ["::fffff:127.0.0.1", "invalid_ip"],
  ["::ffff:127.0.0.1.1", "invalid_ip"],
  [":::ffff:127.0.0.1", "invalid_ip"],
  ["203.0. 113.7", "invalid_ip"],
  ["203.0.113.7\u200b", "invalid_ip"],
  ["203.0.113.7:8080", "invalid_ip"],
  ["1::2::3", "invalid_ip"],
  [`2001:db8::${":1".repeat(40)}`, "invalid_ip"],
  // Host bits set: refused with both readings offered, never widened to the network.
  ["203.0.113.7/24", "invalid_ip"],
  ["2001:db8::1/64", "invalid_ip"],
  // Too broad, including IPv4 ranges written as mapped IPv6.
  ["0.0.0.0/0", "forbidden_target"],
  ["::/0", "forbidden_target"],
  ["10.0.0.0/8", "forbidden_target"],
  ["::ffff:a00:0/104", "forbidden_target"],
  ["::ffff:10.0.0.0/104", "forbidden_target"],
  ["2001:db8::/32", "forbidden_target"],
  // Loopback, unspecified, link-local, broadcast, multicast, in any spelling.
  ["127.0.0.1", "forbidden_target"],
  ["127.10.0.0/16", "forbidden_target"],
  ["::ffff:127.0.0.1", "forbidden_target"],
  ["::FFFF:7F00:1", "forbidden_target"],
  ["0:0:0:0:0:ffff:7f00:1", "forbidden_target"],
  ["::1", "forbidden_target"],
  ["0:0:0:0:0:0:0:1", "forbidden_target"],
  ["0.0.0.0", "forbidden_target"],
  ["::", "forbidden_target"],
  ["::ffff:0.0.0.0", "forbidden_target"],
  ["169.254.169.254", "forbidden_target"],
  ["::ffff:169.254.169.254", "forbidden_target"],
  ["fe80::1", "forbidden_target"],
  ["febf:ffff::/48", "forbidden_target"],
  ["255.255.255.255", "forbidden_target"],
  ["224.0.0.1", "forbidden_target"],
  ["ff02::1", "forbidden_target"],
  ["::1.2.3.4", "forbidden_target"],
  ["::fffe:0:0/95", "forbidden_target"],
  // The SafeLine host itself, and any range that contains it.
  ["192.0.2.10", "forbidden_target"],
  ["::ffff:192.0.2.10", "forbidden_target"],
  ["192.0.2.0/24", "forbidden_target"]
]

/** The spec, written independently of the implementation: what no accepted range may touch. */
const FORBIDDEN_V4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["224.0.0.0", 4],
  ["255.255.255.255", 32],
  ["192.0.2.10", 32]
]
const FORBIDDEN_V6: ReadonlyArray<readonly [string, number]> = [
  ["::", 128],
  ["::1", 128],
  ["::ffff:0:0", 96],
  ["fe80::", 10],
  ["ff00::", 8]
]

/** Node's own parser as the oracle: two CIDR ranges overlap iff one holds the other's first address. */
const overlapsForbidden = (target: string, family: 4 | 6, prefix: number): boolean => {
  const type = family === 4 ? "ipv4" : "ipv6"
  const [network = ""] = target.split("/")
  const ranges = family === 4 ? FORBIDDEN_V4 : FORBIDDEN_V6
  const forbidden = new BlockList()
  for (const [address, bits] of ranges) forbidden.addSubnet(address, bits, type)
  const mine = new BlockList()
  mine.addSubnet(network, prefix, type)
  return forbidden.check(network, type) || ranges.some(([address]) => mine.check(address, type))
}

const prefixFor = (family: 4 | 6) => (family === 4 ? fc.integer({ min: 0, max: 32 }) : fc.integer({ min: 0, max: 128 }))

/** Zeroes the host bits, so the generator produces ranges that can pass. */
const networkV4 = (address: string, prefix: number): string => {
  const value = address.split(".").reduce((n, o) => n * 256 + Number(o), 0)
  const masked = prefix === 0 ? 0 : value - (value % 2 ** (32 - prefix))
  return [24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join(".")
}

const candidates = fc.oneof(
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  fc.ipV4().map((a) => `::ffff:${a}`),
  fc.tuple(fc.ipV4(), prefixFor(4)).map(([a, p]) => `${networkV4(a, p)}/${p}`),
  fc.tuple(fc.ipV4(), prefixFor(4)).map(([a, p]) => `::ffff:${networkV4(a, p)}/${p + 96}`),
  fc.tuple(fc.ipV6(), prefixFor(6)).map(([a, p]) => `${a}/${p}`),
  fc
    .tuple(fc.constantFrom("2001:db8:", "2001:db8:1:", "2a00:1450:"), fc.integer({ min: 48, max: 64 }))
    .map(([head, p]) => `${head}:/${p}`),
  fc.string({ maxLength: 60 })
)

describe("validateTarget (pre_tool_validation)", () => {
  it.each(accepted)("accepts %j as %j", (raw, target) => {
    expect(validateTarget(raw, policy)).toMatchObject({ ok: true, target })
  })

  it.each(refused)("refuses %j as %s", (raw, reason) => {
    expect(validateTarget(raw, policy)).toMatchObject({ ok: false, reason })
  })

  it("tells the operator what was wrong and what to write instead", () => {
    expect(validateTarget("203.0.113.7/24", policy)).toMatchObject({
      detail: expect.stringContaining("write the network 203.0.113.0/24 or the single address 203.0.113.7")
    })
    expect(validateTarget("::ffff:127.0.0.1", policy)).toMatchObject({
      detail: expect.stringContaining("(127.0.0.1) is in or contains the loopback range 127.0.0.0/8")
    })
    expect(validateTarget("::ffff:a00:0/104", policy)).toMatchObject({
      detail: expect.stringContaining("(10.0.0.0/8) would block too much")
    })
    const long = validateTarget("1".repeat(10_000), policy)
    expect(long).toMatchObject({ ok: false, reason: "invalid_ip" })
    if (!long.ok) expect(long.detail.length).toBeLessThan(200)
  })

  it("protects the SafeLine host in whatever form it is configured or targeted", () => {
    const v6 = { ...policy, protectedAddresses: ["2001:db8::a"] }
    expect(validateTarget("2001:DB8:0::A", v6)).toMatchObject({ reason: "forbidden_target" })
    expect(validateTarget("2001:db8::/48", v6)).toMatchObject({ reason: "forbidden_target" })
    const mapped = { ...policy, protectedAddresses: ["::ffff:203.0.113.50"] }
    expect(validateTarget("203.0.113.50", mapped)).toMatchObject({ reason: "forbidden_target" })
    expect(validateTarget("203.0.113.51", mapped)).toMatchObject({ ok: true })
  })

  it("property: an accepted target is canonical (re-validates to itself) and touches no forbidden range", () => {
    fc.assert(
      fc.property(candidates, (raw) => {
        const checked = validateTarget(raw, policy)
        if (!checked.ok) return
        expect(validateTarget(checked.target, policy)).toEqual(checked)
        expect(overlapsForbidden(checked.target, checked.family, checked.prefix)).toBe(false)
        expect(checked.prefix).toBeGreaterThanOrEqual(checked.family === 4 ? 16 : 48)
      }),
      { numRuns: 3000 }
    )
  })

  it("property: an accepted single address is the very address that was typed (Node agrees)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.ipV4(),
          fc.ipV6(),
          fc.ipV4().map((a) => `::ffff:${a}`)
        ),
        (raw) => {
          const checked = validateTarget(raw, policy)
          if (!checked.ok) return
          const same = new BlockList()
          same.addAddress(checked.target, checked.family === 4 ? "ipv4" : "ipv6")
          expect(same.check(raw, raw.includes(":") ? "ipv6" : "ipv4")).toBe(true)
          // Plain dotted decimal is already canonical: it comes back character for character.
          if (!raw.includes(":")) expect(checked.target).toBe(raw)
        }
      ),
      { numRuns: 2000 }
    )
  })

  it("property: inet_aton spellings (octal, hex, short) are never read as an address", () => {
    fc.assert(
      fc.property(fc.ipV4Extended(), (raw) => {
        const checked = validateTarget(raw, policy)
        if (checked.ok) expect(checked.target).toBe(raw)
      }),
      { numRuns: 2000 }
    )
  })

  it("property: a valid target followed by anything malformed is refused whole, never cut back", () => {
    const suffix = fc.constantFrom("/8/8", "/", "/-1", "/033", "%eth0", "/24x", ".", "x", ":80", "/ 24")
    fc.assert(
      fc.property(candidates, suffix, (raw, tail) => {
        const checked = validateTarget(raw, policy)
        // "2001:db8::1" + ":80" is another valid IPv6 address, not a malformed one.
        if (!checked.ok || (checked.family === 6 && tail === ":80")) return
        expect(validateTarget(`${checked.target}${tail}`, policy)).toMatchObject({ ok: false, reason: "invalid_ip" })
      }),
      { numRuns: 2000 }
    )
  })
})
