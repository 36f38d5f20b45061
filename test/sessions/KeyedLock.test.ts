import { describe, expect, it } from "@effect/vitest"
import { Data, Deferred, Effect, Exit, Fiber } from "effect"
import { makeKeyedLock } from "../../src/sessions/KeyedLock.js"

class Busy extends Data.TaggedError("Busy")<{}> {}
class Boom extends Data.TaggedError("Boom")<{}> {}

const busy = () => new Busy()

describe("KeyedLock", () => {
  it.live("hands the lock over in arrival order", () =>
    Effect.gen(function* () {
      const lock = makeKeyedLock()
      const order: Array<string> = []
      const holder = yield* Deferred.make<void>()
      const entered = yield* Deferred.make<void>()
      const first = yield* Effect.fork(
        lock.withLock(
          "k",
          "1 second",
          busy
        )(
          Deferred.succeed(entered, undefined).pipe(
            Effect.zipRight(Deferred.await(holder)),
            Effect.zipRight(Effect.sync(() => order.push("first")))
          )
        )
      )
      yield* Deferred.await(entered)
      const second = yield* Effect.fork(lock.withLock("k", "1 second", busy)(Effect.sync(() => order.push("second"))))
      yield* Effect.sleep("20 millis")
      const third = yield* Effect.fork(lock.withLock("k", "1 second", busy)(Effect.sync(() => order.push("third"))))
      yield* Effect.sleep("20 millis")
      expect(order).toEqual([])
      yield* Deferred.succeed(holder, undefined)
      yield* Fiber.join(Fiber.zip(first, Fiber.zip(second, third)))
      expect(order).toEqual(["first", "second", "third"])
      expect(yield* lock.activeKeys).toBe(0)
    })
  )

  it.live("leaves no entry behind after success, failure, defect, timeout and interruption", () =>
    Effect.gen(function* () {
      const lock = makeKeyedLock()
      for (let i = 0; i < 500; i++) yield* lock.withLock(`key-${i}`, "1 second", busy)(Effect.void)
      expect(yield* lock.activeKeys).toBe(0)

      expect(Exit.isFailure(yield* Effect.exit(lock.withLock("f", "1 second", busy)(new Boom())))).toBe(true)
      expect(Exit.isFailure(yield* Effect.exit(lock.withLock("d", "1 second", busy)(Effect.die("bug"))))).toBe(true)
      expect(yield* lock.activeKeys).toBe(0)

      const entered = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        lock.withLock("i", "1 second", busy)(Deferred.succeed(entered, undefined).pipe(Effect.zipRight(Effect.never)))
      )
      yield* Deferred.await(entered)
      const timedOut = yield* Effect.either(lock.withLock("i", "50 millis", busy)(Effect.void))
      expect(timedOut._tag === "Left" && timedOut.left._tag).toBe("Busy")
      const waiter = yield* Effect.fork(lock.withLock("i", "10 seconds", busy)(Effect.void))
      yield* Effect.sleep("20 millis")
      expect(yield* lock.activeKeys).toBe(1)
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      expect(yield* lock.activeKeys).toBe(0)
      // and the key still works afterwards
      expect(yield* lock.withLock("i", "50 millis", busy)(Effect.succeed("again"))).toBe("again")
    })
  )

  it.live("a waiter that gives up does not block the ones behind it", () =>
    Effect.gen(function* () {
      const lock = makeKeyedLock()
      const release = yield* Deferred.make<void>()
      const entered = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        lock.withLock(
          "k",
          "1 second",
          busy
        )(Deferred.succeed(entered, undefined).pipe(Effect.zipRight(Deferred.await(release))))
      )
      yield* Deferred.await(entered)
      const impatient = yield* Effect.fork(Effect.either(lock.withLock("k", "30 millis", busy)(Effect.void)))
      const patient = yield* Effect.fork(lock.withLock("k", "5 seconds", busy)(Effect.succeed("patient ran")))
      const gaveUp = yield* Fiber.join(impatient)
      expect(gaveUp._tag).toBe("Left")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(patient)).toBe("patient ran")
      expect(yield* lock.activeKeys).toBe(0)
    })
  )
})
