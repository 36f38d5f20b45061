// Reading Prometheus text in assertions: one sample's value by name and exact label set.
export const parseSamples = (text: string): Map<string, number> => {
  const samples = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const space = line.lastIndexOf(" ")
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')

export const seriesKey = (name: string, labels: Readonly<Record<string, string>> = {}) => {
  const keys = Object.keys(labels)
    .filter((k) => k !== "le")
    .sort()
  if (labels.le !== undefined) keys.push("le")
  return keys.length === 0 ? name : `${name}{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(",")}}`
}

export const sampleValue = (text: string, name: string, labels: Readonly<Record<string, string>> = {}) =>
  parseSamples(text).get(seriesKey(name, labels))

/** Metric family names (from `# TYPE` lines) with their types. */
export const metricFamilies = (text: string): Map<string, string> => {
  const families = new Map<string, string>()
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(match[1]!, match[2]!)
  return families
}
