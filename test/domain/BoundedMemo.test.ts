import { describe, expect, it } from "@effect/vitest"
import { boundedMemo } from "../../src/domain/BoundedMemo.js"

describe("boundedMemo", () => {
  it("computes each argument once, undefined answers included", () => {
    const calls: Array<string> = []
    const parse = boundedMemo(10, (text: string) => {
      calls.push(text)
      return text === "bad" ? undefined : text.length
    })
    expect([parse("abc"), parse("abc"), parse("bad"), parse("bad")]).toEqual([3, 3, undefined, undefined])
    expect(calls).toEqual(["abc", "bad"])
  })

  it("past its bound, keeps what it has and computes new arguments each time", () => {
    const calls: Array<number> = []
    const double = boundedMemo(2, (n: number) => {
      calls.push(n)
      return n * 2
    })
    for (const n of [1, 2, 3, 3, 1, 2]) double(n)
    expect(calls).toEqual([1, 2, 3, 3])
  })
})
