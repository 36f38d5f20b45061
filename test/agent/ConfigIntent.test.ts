import { describe, expect, it } from "vitest"
import { parseConfigIntent } from "../../src/agent/ConfigIntent.js"

describe("parseConfigIntent", () => {
  it.each([
    ["switch to block mode", "block"],
    ["set protection mode to detect", "detect"],
    ["put the WAF in detection-only mode", "detect"],
    ["change mode to dry run", "detect"],
    ["enable strict mode", "strict"],
    ["turn off the waf", "off"],
    ["disable protection", "off"],
    ["set the waf to blocking", "block"],
    ["turn protection on", "block"]
  ])("reads %j as set_mode %s", (message, mode) => {
    expect(parseConfigIntent(message)).toEqual({ kind: "set_mode", mode })
  })

  it.each([
    ["ban 203.0.113.7", "203.0.113.7"],
    ["block ip 198.51.100.23 because it scans us", "198.51.100.23"],
    ["blacklist 192.0.2.0/24", "192.0.2.0/24"],
    ["add 2001:db8::1 to the blocklist", "2001:db8::1"],
    ["block 2001:db8::/48", "2001:db8::/48"],
    ["block 0.0.0.0/0", "0.0.0.0/0"]
  ])("reads %j as blacklist_ip %s, keeping the prefix", (message, target) => {
    expect(parseConfigIntent(message)).toMatchObject({ kind: "blacklist_ip", target })
  })

  it.each([
    ["ban 1.2.3.4/16/8", "1.2.3.4/16/8"],
    ["ban 1.2.3.4/-1 now", "1.2.3.4/-1"],
    ["block 1.2.3.4/ please", "1.2.3.4/"],
    ["block ::ffff:127.0.0.1", "::ffff:127.0.0.1"],
    ["block fe80::1%eth0 please", "fe80::1%eth0"],
    ["ban 203.0.113.7:8080", "203.0.113.7:8080"],
    ["ban 1.2.3.4／16", "1.2.3.4／16"],
    ["ban ip=203.0.113.7", "ip=203.0.113.7"],
    ["ban 0x7f.1", "0x7f.1"],
    ["ban 127.1/8", "127.1/8"]
  ])(
    "reads %j as blacklisting the whole token %j, so validation refuses it instead of a piece of it",
    (message, target) => {
      expect(parseConfigIntent(message)).toMatchObject({ kind: "blacklist_ip", target })
    }
  )

  it.each([
    ["ban 203.0.113.7.", "203.0.113.7"],
    ["ban 203.0.113.7, it scans us", "203.0.113.7"],
    ["ban 203.0.113.7: it scans us", "203.0.113.7"],
    ["ban `203.0.113.7`", "203.0.113.7"],
    ["ban [2001:db8::1]", "2001:db8::1"],
    ["block 2001:db8::", "2001:db8::"]
  ])("reads %j as %j: sentence punctuation around a token is not part of it", (message, target) => {
    expect(parseConfigIntent(message)).toMatchObject({ kind: "blacklist_ip", target })
  })

  it("does not take a decimal number for an address", () => {
    expect(parseConfigIntent("switch to block mode for 2.5 hours")).toEqual({
      kind: "set_mode",
      mode: "block",
      durationMillis: 9_000_000
    })
  })

  it.each([
    ["unblock 203.0.113.7", "203.0.113.7"],
    ["Unblock 192.0.2.0/24 please", "192.0.2.0/24"],
    ["remove 198.51.100.23 from the blacklist", "198.51.100.23"],
    ["lift the ban on 192.0.2.15", "192.0.2.15"],
    ["unban 2001:db8::dead", "2001:db8::dead"]
  ])("reads %j as unblock_ip, never a blacklist", (message, target) => {
    expect(parseConfigIntent(message)).toEqual({ kind: "unblock_ip", target })
  })

  it("reads confirmations, cancels, restores and unknown modes", () => {
    expect(parseConfigIntent("confirm 012345")).toEqual({ kind: "confirm", code: "012345" })
    expect(parseConfigIntent("  CONFIRM 999999. ")).toEqual({ kind: "confirm", code: "999999" })
    expect(parseConfigIntent("confirm 12345")).not.toMatchObject({ kind: "confirm" })
    expect(parseConfigIntent("cancel")).toEqual({ kind: "cancel" })
    expect(parseConfigIntent("restore the previous mode")).toEqual({ kind: "restore_mode" })
    expect(parseConfigIntent("revert the protection mode change")).toEqual({ kind: "restore_mode" })
    expect(parseConfigIntent("set mode to turbo")).toEqual({ kind: "invalid_mode", requested: "turbo" })
    expect(parseConfigIntent("what is the weather")).toEqual({ kind: "none" })
  })

  it("reads assent without a valid code as assent, and an order or a question as what it is", () => {
    for (const message of [
      "confirm",
      "Confirm!",
      "yes, do it",
      "ok",
      "OK.",
      "go ahead please",
      "sure",
      "yep",
      "do it now",
      "confirm 12345",
      "confirm the change",
      "please confirm",
      "apply it"
    ]) {
      expect(parseConfigIntent(message), message).toEqual({ kind: "assent" })
    }
    expect(parseConfigIntent("confirm 123456")).toEqual({ kind: "confirm", code: "123456" })
    expect(parseConfigIntent("cancel")).toEqual({ kind: "cancel" })
    for (const message of [
      "thanks",
      "yes, and show me the traffic",
      "ok ban 203.0.113.7",
      "is it ok to switch to block mode?"
    ]) {
      expect(parseConfigIntent(message).kind, message).not.toBe("assent")
    }
  })

  it("reads a blacklist order typed in a hurry", () => {
    for (const message of ["blok 203.0.113.9", "blcok 203.0.113.9", "bann 203.0.113.9", "blaklist 203.0.113.9"]) {
      expect(parseConfigIntent(message), message).toMatchObject({ kind: "blacklist_ip", target: "203.0.113.9" })
    }
  })

  it("sanitises the blacklist comment", () => {
    const intent = parseConfigIntent("ban 203.0.113.7 because <script>alert(1)</script>\u0000 scanning")
    expect(intent).toMatchObject({ kind: "blacklist_ip" })
    if (intent.kind === "blacklist_ip") expect(intent.comment).not.toMatch(/[<>\u0000]/)
  })
})
