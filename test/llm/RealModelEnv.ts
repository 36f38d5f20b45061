// The settings that point the service at the real model behind a recording proxy, shared by the
// LLM suite's files, and the note a degraded reply carries.
export const LLM_ENV_DEFAULTS = {
  LLM_PROVIDER: "openai",
  // llama.cpp's server turns the schema of `json_object` into a grammar the sampler follows.
  OPENAI_RESPONSE_FORMAT: "json_object",
  LLM_CONTEXT_TOKENS: "2048",
  // Generous: two cores shared with other work; the tests about timeouts set their own.
  LLM_TIMEOUT_SECONDS: "120",
  LLM_MAX_RETRIES: "0"
} as const

export const llmEnv = (
  baseUrl: string,
  model: string,
  extra: Readonly<Record<string, string>> = {}
): Record<string, string> => ({
  ...LLM_ENV_DEFAULTS,
  OPENAI_BASE_URL: baseUrl,
  OPENAI_MODEL: model,
  ...extra
})

/** What a reply says when it was written without the model (specialists and documentation answers). */
export const MODEL_UNAVAILABLE = "The language model is unavailable right now"
