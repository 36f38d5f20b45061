// The envelope and the QPS payload are checked by hand before any Schema (the Schema walk cost
// more than the exchange): whatever the body, a hand-decoded value must be exactly what the
// Schema decodes, and a body the Schema accepts must never be refused by hand.
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import fc from "fast-check"
import { Envelope, QpsData } from "../../src/safeline/SafeLineApi.js"
import { envelopeOf, qpsDataOf } from "../../src/safeline/SafeLineClient.js"

/** JSON as it comes off the wire, parsed: what both decoders see. */
const parsed = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown

const agreesWithSchema = <A, I>(schema: Schema.Schema<A, I>, byHand: (u: unknown) => unknown, input: unknown) => {
  const bySchema = Schema.decodeUnknownEither(schema)(input)
  const hand = byHand(input)
  if (hand !== undefined) {
    expect(Either.isRight(bySchema), `the Schema refuses what the hand check accepted: ${JSON.stringify(input)}`).toBe(
      true
    )
    expect(hand).toStrictEqual(Either.getOrThrow(bySchema))
  }
  if (Either.isRight(bySchema)) expect(hand).toStrictEqual(bySchema.right)
}

const scalar = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(null),
  fc.boolean()
)
const bucket = fc.dictionary(fc.oneof(fc.constantFrom("time", "80", "443"), fc.string()), scalar)
const qpsLike = fc.oneof(
  fc.record({ nodes: fc.oneof(fc.array(bucket), fc.constant(null), scalar) }, { requiredKeys: [] }),
  fc.jsonValue()
)
const envelopeLike = fc.oneof(
  fc.record({ data: fc.jsonValue(), err: scalar, msg: scalar }, { requiredKeys: [] }),
  fc.jsonValue()
)

describe("hand-checked SafeLine payloads", () => {
  it("the envelope: the same value as the Envelope Schema, for any JSON", () => {
    fc.assert(
      fc.property(envelopeLike, (value) => agreesWithSchema(Envelope, envelopeOf, parsed(value))),
      { numRuns: 5_000 }
    )
  })

  it("the QPS payload: the same value as the QpsData Schema, for any JSON", () => {
    fc.assert(
      fc.property(qpsLike, (value) => agreesWithSchema(QpsData, qpsDataOf, parsed(value))),
      { numRuns: 5_000 }
    )
  })

  it("the cases a real SafeLine sends", () => {
    agreesWithSchema(QpsData, qpsDataOf, { nodes: [{ time: "12:00:05", "80": 12, "443": "7" }] })
    agreesWithSchema(QpsData, qpsDataOf, { nodes: null })
    agreesWithSchema(QpsData, qpsDataOf, {})
    agreesWithSchema(Envelope, envelopeOf, { data: { nodes: [] }, err: null, msg: "" })
    agreesWithSchema(Envelope, envelopeOf, { err: "login-required", msg: "token invalid" })
    expect(envelopeOf({ err: 1 })).toBeUndefined()
    expect(qpsDataOf({ nodes: [{ time: { nested: true } }] })).toBeUndefined()
  })
})
