import { describe, expect, it } from "vitest"
import { validateTarget } from "../../src/agent/TargetValidation.js"

const policy = { minPrefixV4: 16, minPrefixV6: 48, protectedAddresses: ["192.0.2.10"] }

describe("validateTarget (pre_tool_validation)", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["198.51.100.0/24", "198.51.100.0/24"],
    ["10.0.0.0/16", "10.0.0.0/16"],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:db8::/48", "2001:db8::/48"]
  ])("allows %s", (raw, target) => {
    expect(validateTarget(raw, policy)).toMatchObject({ ok: true, target })
  })

  it.each([
    ["999.1.1.1"],
    ["203.0.113"],
    ["abc"],
    ["203.0.113.7/33"],
    ["2001:db8::/129"],
    ["1.2.3.4/x"],
    ["1.2.3.4/8/9"]
  ])("refuses malformed %s as invalid_ip", (raw) => {
    expect(validateTarget(raw, policy)).toMatchObject({ ok: false, reason: "invalid_ip" })
  })

  it.each([
    ["0.0.0.0/0"],
    ["::/0"],
    ["10.0.0.0/8"],
    ["2001:db8::/32"],
    ["127.0.0.1"],
    ["127.10.0.0/16"],
    ["::1"],
    ["169.254.169.254"],
    ["fe80::1"],
    ["0.0.0.0"],
    ["192.0.2.10"]
  ])("refuses the dangerous target %s as forbidden_target", (raw) => {
    expect(validateTarget(raw, policy)).toMatchObject({ ok: false, reason: "forbidden_target" })
  })
})
