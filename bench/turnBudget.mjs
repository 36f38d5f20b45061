// The fixed costs every turn builds on, measured in a process of their own (see isolated.mjs):
// LangGraph invoking the product's graph (the supervisor and eight specialists, the whole turn in
// one channel, each node naming the next with a Command, the light run context installed) with
// trivial nodes, once as plain async functions and once as Effect programs through the product's
// own node bridge (`toGraphNode`, a fiber per node on the turn's runtime); and one LangChain
// `ChatOpenAI` call to the OpenAI-compatible stub, which runs in another process so only the
// client's CPU is counted. CPU per call from `process.cpuUsage()`; medians of `runs` runs.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Command, END, START, StateGraph } from "@langchain/langgraph"
import { ChatOpenAI } from "@langchain/openai"
import { Effect, Runtime } from "effect"
import { fromDist } from "./dist.mjs"
import { runIsolated } from "./isolated.mjs"
import { collectGarbage, median, round } from "./stats.mjs"

const { GraphState, newTurnState } = await fromDist("agent/GraphState.js")
const { installLightRunContext } = await fromDist("agent/LightRunContext.js")
const { toGraphNode } = await fromDist("agent/NodeRunner.js")
const { SPECIALISTS } = await fromDist("domain/Agents.js")

/** The product's graph shape around the two nodes given. */
const graphOf = (supervisor, specialist) => {
  let graph = new StateGraph(GraphState).addNode("supervisor", supervisor, { ends: [...SPECIALISTS, END] })
  for (const name of SPECIALISTS) graph = graph.addNode(name, specialist, { ends: ["supervisor", END] })
  return graph.addEdge(START, "supervisor").compile()
}

const planned = (turn) => ({ next: "monitor", plan: [{ agent: "monitor", request: turn.message }] })
const answered = (turn) => ({ reply: "ok", step: turn.step + 1 })

const startStub = () =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL("llmStub.mjs", import.meta.url))], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
      const match = out.match(/^LLM_STUB (\S+)$/m)
      if (match !== null) resolve({ baseUrl: match[1], stop: () => child.kill("SIGTERM") })
    })
    child.once("exit", (code) => reject(new Error(`LLM stub exited with ${code}`)))
  })

/** CPU ms per call of `call`, over `calls` sequential calls. */
const cpuPerCall = async (call, calls) => {
  collectGarbage()
  const before = process.cpuUsage()
  for (let i = 0; i < calls; i++) await call()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000 / calls
}

/** One variant's CPU-per-call samples, in this process: run by `runTurnBudgetBench` in a process of its own. */
export const sampleBudgetVariant = async ({ variant, runs = 5, calls = 2000, warmup = 2000 }) => {
  installLightRunContext()
  const input = {
    turn: newTurnState({ sessionId: "budget", message: "what is my traffic?", history: [], pendingAction: null })
  }
  // As Turn.run invokes it: the turn's runtime in the config and a signal of its own.
  const invoke = (graph) => () =>
    graph.invoke(input, { configurable: { runtime: Runtime.defaultRuntime }, signal: new AbortController().signal })
  let call
  let stop = () => {}
  if (variant === "chat") {
    const stub = await startStub()
    stop = stub.stop
    const model = new ChatOpenAI({
      model: "bench-model",
      apiKey: "sk-bench",
      configuration: { baseURL: stub.baseUrl },
      maxRetries: 0,
      timeout: 10_000
    })
    const messages = [
      ["system", "You route messages to one specialist."],
      ["human", "what is my traffic?"]
    ]
    call = () => model.invoke(messages, { signal: new AbortController().signal })
  } else {
    const graph =
      variant === "plain"
        ? graphOf(
            async ({ turn }) => new Command({ update: { turn: { ...turn, ...planned(turn) } }, goto: "monitor" }),
            async ({ turn }) => new Command({ update: { turn: { ...turn, ...answered(turn) } }, goto: END })
          )
        : graphOf(
            toGraphNode(
              (turn) => Effect.succeed(planned(turn)),
              (turn) => turn.next ?? END
            ),
            toGraphNode(
              (turn) => Effect.succeed(answered(turn)),
              () => END
            )
          )
    const out = await invoke(graph)()
    if (out.turn.reply !== "ok" || out.turn.step !== 1) throw new Error("the budget graph did not run its two steps")
    call = invoke(graph)
  }
  try {
    for (let i = 0; i < warmup; i++) await call()
    const samples = []
    for (let run = 0; run < runs; run++) samples.push(await cpuPerCall(call, calls))
    return samples
  } finally {
    stop()
  }
}

export const runTurnBudgetBench = async ({ runs = 5, calls = 2000 } = {}) => {
  // Each variant in a fresh process: one graph (or one model) per heap, as in the service.
  const sample = (variant, n) => runIsolated("./turnBudget.mjs", "sampleBudgetVariant", { variant, runs, calls: n })
  const samples = {
    plain: await sample("plain", calls),
    bridged: await sample("bridged", calls),
    chat: await sample("chat", Math.round(calls / 4))
  }
  const summary = (values) => ({
    median: round(median(values), 3),
    min: round(Math.min(...values), 3),
    max: round(Math.max(...values), 3)
  })
  const reference = (values, unit) => {
    const s = summary(values)
    return {
      value: s.median,
      unit,
      target: "(reference)",
      pass: true,
      spread: `median of ${runs} (min ${s.min}, max ${s.max})`
    }
  }
  return {
    results: {
      langgraph_invoke_ms: reference(samples.plain, "ms CPU per invoke (two steps, trivial async nodes)"),
      langgraph_invoke_effect_nodes_ms: reference(
        samples.bridged,
        "ms CPU per invoke (two steps, trivial Effect nodes)"
      ),
      chat_model_call_ms: reference(samples.chat, "ms CPU per ChatOpenAI.invoke (client side, stub elsewhere)")
    },
    details: {
      runs,
      calls_per_run: calls,
      chat_calls_per_run: Math.round(calls / 4),
      langgraph_invoke_ms: summary(samples.plain),
      langgraph_invoke_effect_nodes_ms: summary(samples.bridged),
      chat_model_call_ms: summary(samples.chat)
    }
  }
}
