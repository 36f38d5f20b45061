// The session store the configuration asks for: SESSION_STORE=memory (one replica) or redis
// (shared by replicas, at REDIS_URL).
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { MemorySessionStore } from "./MemorySessionStore.js"
import { RedisSessionStore } from "./RedisSessionStore.js"

export const SessionStoreLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ sessions }) =>
    sessions.store === "redis" ? RedisSessionStore.layer : MemorySessionStore.layer
  )
)
