// pre_tool_validation for blacklist targets: syntax first, then the addresses no one should
// ever block (everything, loopback, link-local, unspecified, the WAF itself, huge prefixes).
import { BlockList, isIP } from "node:net"

export type TargetCheck =
  | { readonly ok: true; readonly target: string; readonly family: 4 | 6; readonly prefix: number }
  | { readonly ok: false; readonly reason: "invalid_ip" | "forbidden_target"; readonly detail: string }

export interface TargetPolicy {
  readonly minPrefixV4: number
  readonly minPrefixV6: number
  /** Literal addresses of the SafeLine host, never blockable. */
  readonly protectedAddresses: ReadonlyArray<string>
}

const forbidden = new BlockList()
forbidden.addSubnet("127.0.0.0", 8, "ipv4")
forbidden.addSubnet("169.254.0.0", 16, "ipv4")
forbidden.addSubnet("0.0.0.0", 8, "ipv4")
forbidden.addAddress("255.255.255.255", "ipv4")
forbidden.addAddress("::1", "ipv6")
forbidden.addAddress("::", "ipv6")
forbidden.addSubnet("fe80::", 10, "ipv6")

/** Masks an address to its network, so 10.1.2.3/8 and 10.0.0.0/8 are the same range. */
const overlapsForbidden = (address: string, family: 4 | 6, prefix: number): boolean => {
  const type = family === 4 ? "ipv4" : "ipv6"
  if (forbidden.check(address, type)) return true
  // A range containing a forbidden address is forbidden too (e.g. 127.0.0.0/7).
  const probe = new BlockList()
  probe.addSubnet(address, prefix, type)
  const samples = family === 4 ? ["127.0.0.1", "169.254.1.1", "0.0.0.1"] : ["::1", "fe80::1"]
  return samples.some((s) => probe.check(s, type))
}

export const validateTarget = (raw: string, policy: TargetPolicy): TargetCheck => {
  const text = raw.trim()
  const [address = "", prefixText, ...rest] = text.split("/")
  const family = isIP(address)
  if (rest.length > 0 || (family !== 4 && family !== 6)) {
    return {
      ok: false,
      reason: "invalid_ip",
      detail: `"${text.slice(0, 64)}" is not an IPv4/IPv6 address or CIDR range`
    }
  }
  const max = family === 4 ? 32 : 128
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) {
    return { ok: false, reason: "invalid_ip", detail: `"/${prefixText.slice(0, 8)}" is not a prefix length` }
  }
  const prefix = prefixText === undefined ? max : Number(prefixText)
  if (prefix > max)
    return { ok: false, reason: "invalid_ip", detail: `/${prefix} is longer than an IPv${family} address` }
  const minPrefix = family === 4 ? policy.minPrefixV4 : policy.minPrefixV6
  if (prefix < minPrefix) {
    return {
      ok: false,
      reason: "forbidden_target",
      detail: `/${prefix} would block too much; the broadest range allowed is /${minPrefix} (BLACKLIST_MIN_PREFIX_V${family})`
    }
  }
  if (overlapsForbidden(address, family, prefix)) {
    return { ok: false, reason: "forbidden_target", detail: `${text} is a loopback, link-local or unspecified address` }
  }
  if (policy.protectedAddresses.some((p) => p === address)) {
    return { ok: false, reason: "forbidden_target", detail: `${text} is the SafeLine host itself` }
  }
  return { ok: true, target: prefixText === undefined ? address : `${address}/${prefix}`, family, prefix }
}
