/**
 * Sizes and durations for people: `formatBytes(1536)` is "1.5 KiB", `parseSize("2GiB")` is
 * 2147483648. Binary units (KiB, MiB, GiB, TiB); "K", "M", "G", "T", "KB" … are read as binary too,
 * since memory budgets are.
 */
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const

export const formatBytes = (n: number): string => {
  if (!Number.isFinite(n)) return String(n)
  let v = n
  let u = 0
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[u]}`
}

const FACTORS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4
}

/** Parses "512MiB", "2GiB", "1.5g", "1048576"; undefined when it is not a size. */
export const parseSize = (text: string): number | undefined => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (m === null) return undefined
  const f = FACTORS[m[2]!.toLowerCase()]
  if (f === undefined) return undefined
  return Math.round(Number(m[1]) * f)
}

/** A size a user can type that is at least `bytes`: "3.3MiB", "700KiB", "1.2GiB". */
export const sizeAtLeast = (bytes: number): string => {
  const [unit, factor] = bytes >= 2 ** 30 ? ["GiB", 2 ** 30] : bytes >= 2 ** 20 ? ["MiB", 2 ** 20] : ["KiB", 2 ** 10]
  return `${Math.ceil((bytes / factor) * 10) / 10}${unit}`
}

export const formatMs = (ms: number): string =>
  ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`
