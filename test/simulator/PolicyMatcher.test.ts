// Custom-rule matching in the simulator: OR of AND-groups over src_ip (groups, CIDR), uri, host
// and method.
import { describe, expect, it } from "@effect/vitest"
import { ipInList, matchesPattern } from "../../src/simulator/PolicyMatcher.js"

const facts = { srcIp: "203.0.113.45", host: "shop.example.com", uri: "/admin/login", method: "POST" }
const groups = new Map([
  [3, ["198.51.100.0/24", "203.0.113.45"]],
  [4, ["2001:db8::/32"]]
])

describe("ipInList", () => {
  it("matches addresses and CIDR ranges of the right family only", () => {
    expect(ipInList("203.0.113.45", ["203.0.113.45"])).toBe(true)
    expect(ipInList("198.51.100.9", ["198.51.100.0/24"])).toBe(true)
    expect(ipInList("198.51.101.9", ["198.51.100.0/24"])).toBe(false)
    expect(ipInList("2001:db8:4f1::17", ["2001:db8::/32"])).toBe(true)
    expect(ipInList("203.0.113.45", ["2001:db8::/32", "garbage", "1.2.3.4/99"])).toBe(false)
  })
})

describe("matchesPattern", () => {
  it("src_ip in an IP group", () => {
    expect(matchesPattern([[{ k: "src_ip", op: "in", v: ["3"], sub_k: "" }]], facts, groups)).toBe(true)
    expect(matchesPattern([[{ k: "src_ip", op: "in", v: ["4"], sub_k: "" }]], facts, groups)).toBe(false)
    expect(matchesPattern([[{ k: "src_ip", op: "in", v: ["99"], sub_k: "" }]], facts, groups)).toBe(false)
  })

  it("ANDs within a clause and ORs across clauses", () => {
    const adminFromGroup = [
      { k: "src_ip", op: "in", v: ["3"], sub_k: "" },
      { k: "uri", op: "prefix", v: ["/admin"], sub_k: "" }
    ]
    expect(matchesPattern([adminFromGroup], facts, groups)).toBe(true)
    expect(matchesPattern([adminFromGroup], { ...facts, uri: "/shop" }, groups)).toBe(false)
    expect(
      matchesPattern(
        [adminFromGroup, [{ k: "host", op: "eq", v: ["shop.example.com"], sub_k: "" }]],
        { ...facts, uri: "/shop" },
        groups
      )
    ).toBe(true)
    expect(matchesPattern([[]], facts, groups)).toBe(false)
  })

  it("cidr, method, regular expressions and unknown keys", () => {
    expect(matchesPattern([[{ k: "src_ip", op: "cidr", v: ["203.0.113.0/24"], sub_k: "" }]], facts, groups)).toBe(true)
    expect(matchesPattern([[{ k: "method", op: "eq", v: ["post"], sub_k: "" }]], facts, groups)).toBe(true)
    expect(matchesPattern([[{ k: "uri", op: "re", v: ["^/admin/(login|logout)$"], sub_k: "" }]], facts, groups)).toBe(
      true
    )
    expect(matchesPattern([[{ k: "uri", op: "re", v: ["(unclosed"], sub_k: "" }]], facts, groups)).toBe(false)
    expect(matchesPattern([[{ k: "header", op: "eq", v: ["x"], sub_k: "User-Agent" }]], facts, groups)).toBe(false)
  })
})
