// A service whose every call also reports its failure: SafeLineOps uses it to forget the shared
// statistics as soon as any SafeLine call fails, so the next turn reads them again and sees the
// outage instead of an answer from before it.
import { Effect } from "effect"

/** `service` with each effect (or function returning one) also running `onFailure` when it fails. */
export const onAnyFailure = <S extends object>(service: S, onFailure: () => void): S => {
  const report = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.tapError(effect, () => Effect.sync(onFailure))
  const watched: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(service)) {
    watched[name] = Effect.isEffect(member)
      ? report(member)
      : typeof member === "function"
        ? (...args: Array<unknown>) => {
            const result = member(...args)
            return Effect.isEffect(result) ? report(result) : result
          }
        : member
  }
  return watched as S
}
