// LangChain keeps each runnable's config in an AsyncLocalStorage store, and without a tracer it
// builds a whole LangSmith `RunTree` (a uuid, timestamps, a dozen environment reads) just to
// carry it: about 9 per graph step. With no tracer asked for, a plain store carries the same.
import { CallbackManager } from "@langchain/core/callbacks/manager"
import { _CONTEXT_VARIABLES_KEY, AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons"

/** Where `getRunnableConfig` (so LangGraph's `getConfig`, `interrupt`, `writer`) looks for the config. */
const LC_CHILD_KEY = Symbol.for("lc:child_config")
const INSTALLED = Symbol.for("security-agent/LightRunContext")

type RunWithConfig = typeof AsyncLocalStorageProviderSingleton.runWithConfig

/** A LangSmith tracer among a config's callbacks (a handler list or a CallbackManager). */
const carriesTracer = (callbacks: unknown): boolean => {
  if (callbacks === undefined || callbacks === null) return false
  const handlers: ReadonlyArray<unknown> = Array.isArray(callbacks)
    ? callbacks
    : ((callbacks as { handlers?: ReadonlyArray<unknown> }).handlers ?? [])
  return handlers.some((handler) => (handler as { name?: unknown } | undefined)?.name === "langchain_tracer")
}

/**
 * Replaces `runWithConfig` once per process when LangChain would add no handler of its own (no
 * LangSmith tracing, no verbose logging, no configure hook, as the environment says at start).
 * The store is `{ tracingEnabled: false, extra: { [LC_CHILD_KEY]: config } }`: all its readers
 * use of the untraced `RunTree` it replaces; context variables carry over as before. A call with
 * a tracer among its callbacks, or inside a real run tree (langsmith `traceable`), takes
 * LangChain's own path. Unlike a `RunTree`, the store is not copied by `setContextVariable`
 * called inside a runnable (the rest of it would lose its config); nothing here calls that.
 * Returns whether the light context is in place.
 */
export const installLightRunContext = (): boolean => {
  const provider = AsyncLocalStorageProviderSingleton as typeof AsyncLocalStorageProviderSingleton & {
    [INSTALLED]?: true
  }
  if (provider[INSTALLED] === true) return true
  if ((CallbackManager.configure()?.handlers.length ?? 0) > 0) return false
  const original: RunWithConfig = provider.runWithConfig.bind(provider)
  provider.runWithConfig = ((config, callback, avoidCreatingRootRunTree) => {
    const storage = provider.getInstance()
    const previous = storage.getStore()
    if (typeof previous?.createChild === "function" || carriesTracer(config?.callbacks)) {
      return original(config, callback, avoidCreatingRootRunTree)
    }
    let store: Record<PropertyKey, unknown> | undefined =
      avoidCreatingRootRunTree === true ? undefined : { tracingEnabled: false, extra: { [LC_CHILD_KEY]: config } }
    if (previous?.[_CONTEXT_VARIABLES_KEY] !== undefined) {
      store ??= {}
      store[_CONTEXT_VARIABLES_KEY] = previous[_CONTEXT_VARIABLES_KEY]
    }
    return storage.run(store, callback)
  }) as RunWithConfig
  provider[INSTALLED] = true
  return true
}
