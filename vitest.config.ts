import { defineConfig } from "vitest/config"

// `unit` is the fast inner loop; `integration` starts real servers (redis, promtool, helm,
// the built CLI); `e2e` drives Prometheus and Jaeger; `llm` runs a real local model.
// `npm test` runs unit + integration.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/integration/**", "test/e2e/**", "test/reliability/**", "test/llm/**"],
          testTimeout: 20_000
        }
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/reliability/**/*.test.ts"],
          globalSetup: ["test/support/globalBuild.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false
        }
      },
      {
        // A real language model (llama.cpp + SmolLM2) on 127.0.0.1: its own .ci/run stage.
        test: {
          name: "llm",
          include: ["test/llm/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false
        }
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/globalBuild.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false
        }
      }
    ]
  }
})
