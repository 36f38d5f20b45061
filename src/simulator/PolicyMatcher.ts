// Whether a custom rule (policy) matches a request, as the simulator evaluates it: the pattern is
// an OR of AND-groups of `{k, op, v}` conditions on src_ip, uri, host and method (inferred).
import { BlockList, isIP } from "node:net"
import type { PolicyCondition } from "../safeline/SafeLineApi.js"

export interface RequestFacts {
  readonly srcIp: string
  readonly host: string
  readonly uri: string
  readonly method: string
}

/** Whether `ip` is one of `entries` (addresses or CIDR ranges); malformed entries match nothing. */
export const ipInList = (ip: string, entries: ReadonlyArray<string>): boolean => {
  const family = isIP(ip)
  if (family === 0) return false
  const list = new BlockList()
  for (const entry of entries) {
    const [address = "", prefix] = entry.trim().split("/")
    const entryFamily = isIP(address)
    if (entryFamily === 0) continue
    const type = entryFamily === 4 ? "ipv4" : "ipv6"
    try {
      if (prefix === undefined) list.addAddress(address, type)
      else list.addSubnet(address, Number(prefix), type)
    } catch {
      // an out-of-range prefix is simply not a match
    }
  }
  return list.check(ip, family === 4 ? "ipv4" : "ipv6")
}

const matchText = (op: string, value: string, candidates: ReadonlyArray<string>): boolean => {
  switch (op) {
    case "eq":
    case "in":
      return candidates.includes(value)
    case "neq":
    case "not_in":
      return !candidates.includes(value)
    case "prefix":
      return candidates.some((c) => value.startsWith(c))
    case "contain":
    case "contains":
      return candidates.some((c) => value.includes(c))
    case "re":
      return candidates.some((c) => {
        try {
          return new RegExp(c).test(value)
        } catch {
          return false
        }
      })
    default:
      return false
  }
}

const matchCondition = (
  condition: PolicyCondition,
  facts: RequestFacts,
  groups: ReadonlyMap<number, ReadonlyArray<string>>
): boolean => {
  switch (condition.k) {
    case "src_ip": {
      if (condition.op === "in" || condition.op === "not_in") {
        const inGroup = condition.v.some((id) => ipInList(facts.srcIp, groups.get(Number(id)) ?? []))
        return condition.op === "in" ? inGroup : !inGroup
      }
      if (condition.op === "cidr" || condition.op === "eq") return ipInList(facts.srcIp, condition.v)
      if (condition.op === "neq") return !ipInList(facts.srcIp, condition.v)
      return false
    }
    case "uri":
    case "url_path":
      return matchText(condition.op, facts.uri, condition.v)
    case "host":
      return matchText(condition.op, facts.host, condition.v)
    case "method":
      return matchText(
        condition.op,
        facts.method.toUpperCase(),
        condition.v.map((m) => m.toUpperCase())
      )
    default:
      return false
  }
}

export const matchesPattern = (
  pattern: ReadonlyArray<ReadonlyArray<PolicyCondition>>,
  facts: RequestFacts,
  groups: ReadonlyMap<number, ReadonlyArray<string>>
): boolean =>
  pattern.some((all) => all.length > 0 && all.every((condition) => matchCondition(condition, facts, groups)))
