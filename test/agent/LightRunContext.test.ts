// With the light run context installed, LangGraph and LangChain still find each runnable's config
// in the async context: getConfig, interrupt/resume, nested runnables and context variables.
import { describe, expect, it } from "@effect/vitest"
import { getContextVariable, setContextVariable } from "@langchain/core/context"
import { RunnableLambda } from "@langchain/core/runnables"
import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons"
import {
  Annotation,
  Command,
  END,
  getConfig,
  INTERRUPT,
  interrupt,
  MemorySaver,
  START,
  StateGraph
} from "@langchain/langgraph"
import { installLightRunContext } from "../../src/agent/LightRunContext.js"

const installed = installLightRunContext()

const State = Annotation.Root({ seen: Annotation<string>(), answer: Annotation<string>() })

const oneNode = (node: (state: typeof State.State) => Promise<Partial<typeof State.State>>) =>
  new StateGraph(State).addNode("only", node).addEdge(START, "only").addEdge("only", END)

describe("installLightRunContext", () => {
  it("installs once when LangChain asks for no tracer of its own; again is a no-op", () => {
    expect(installLightRunContext()).toBe(installed)
  })

  it("a node reads the graph's config, and a runnable it calls without one inherits it", async () => {
    const graph = oneNode(async () => {
      const config = getConfig()
      const nested = await RunnableLambda.from(
        (_: string, inner) => `${inner?.configurable?.marker}/${inner?.metadata?.origin}`
      ).invoke("x")
      return { seen: `${config.configurable?.marker} ${nested}` }
    }).compile()
    const out = await graph.invoke({}, { configurable: { marker: "m-1" }, metadata: { origin: "test" } })
    expect(out.seen).toBe("m-1 m-1/test")
  })

  it.runIf(installed)("the store a node runs in carries the config, not a LangSmith run tree", async () => {
    const graph = oneNode(async () => {
      const store = AsyncLocalStorageProviderSingleton.getInstance().getStore()
      return { seen: `${typeof store?.createChild} ${store?.tracingEnabled}` }
    }).compile()
    expect((await graph.invoke({})).seen).toBe("undefined false")
  })

  it("interrupt() pauses the run and Command({ resume }) continues it with the answer", async () => {
    const graph = oneNode(async () => ({ answer: interrupt("which code?") as string })).compile({
      checkpointer: new MemorySaver()
    })
    const thread = { configurable: { thread_id: `light-${Math.random()}` } }
    const paused = (await graph.invoke({ seen: "asked" }, thread)) as { [INTERRUPT]?: Array<{ value: unknown }> }
    expect(paused[INTERRUPT]?.map((i) => i.value)).toEqual(["which code?"])
    const resumed = await graph.invoke(new Command({ resume: "123456" }), thread)
    expect(resumed).toMatchObject({ seen: "asked", answer: "123456" })
  })

  it("context variables set around a run reach its nodes", async () => {
    const graph = oneNode(async () => ({ seen: String(getContextVariable("tenant")) })).compile()
    const out = await AsyncLocalStorageProviderSingleton.getInstance().run({}, async () => {
      setContextVariable("tenant", "blue")
      return graph.invoke({})
    })
    expect(out.seen).toBe("blue")
  })
})
