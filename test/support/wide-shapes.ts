/**
 * Payloads that cost much work per byte, each well under the default frame limit (4 MiB), made the same on every
 * process from their name: a very wide object, many tiny keys, deep nesting, long strings full of escapes, long
 * arrays and mixes of them, each of up to 49,000 JSON values (under the transport's default `maxEnvelopeValues`,
 * 50,000: the most a receiver is asked to parse in one envelope); and `too-wide`, 100,000 tiny keys (0.8 MB,
 * under the frame limit), which the sender refuses. `fingerprint` sums up a value (its JSON's length and a hash
 * of it), so that a receiver can show it got the payload intact.
 */
export const SHAPES = ["wide", "tiny-keys", "deep", "escapes", "array", "mixed", "too-wide"] as const
export type Shape = (typeof SHAPES)[number]

/** Nested arrays `depth` deep around a 0. */
const nest = (depth: number): unknown => {
  let value: unknown = 0
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

/** An object of `n` keys, each 1 to 4 characters (base 36), the most keys per byte. */
const tinyKeys = (n: number): Record<string, number> => {
  const data: Record<string, number> = {}
  for (let i = 0; i < n; i++) data[i.toString(36)] = i % 10
  return data
}

export const payloadOf = (shape: Shape): unknown => {
  switch (shape) {
    case "wide": {
      // redteam8's payload, cut to the limit: 49,000 keys of numbers
      const data: Record<string, number> = {}
      for (let i = 0; i < 49_000; i++) data[`k${i}`] = i
      return data
    }
    case "tiny-keys":
      return tinyKeys(49_000)
    case "too-wide":
      return tinyKeys(100_000)
    case "deep": {
      // nested 120 levels (the limit is 128), many times over: a value per 2 bytes, all of them arrays
      return Array.from({ length: 400 }, () => nest(120))
    }
    case "escapes": {
      // long strings whose every character needs an escape (\u0001 takes 6 bytes)
      return Array.from({ length: 200 }, (_, i) => `"\\\n\u0001\t${i}`.repeat(1_000))
    }
    case "array": {
      return Array.from({ length: 49_000 }, (_, i) => i % 100)
    }
    case "mixed": {
      // many small objects with a few keys each, in arrays, some strings with escapes (7 values each)
      return Array.from({ length: 7_000 }, (_, i) => ({ i, s: `a"b${i}`, t: [true, null, 1.5] }))
    }
  }
}

/** The JSON length and a 32-bit FNV-1a hash of a value's JSON: equal for equal payloads. */
export const fingerprint = (value: unknown): string => {
  const json = JSON.stringify(value)
  let hash = 0x811c9dc5
  for (let i = 0; i < json.length; i++) {
    hash ^= json.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return `${json.length}:${(hash >>> 0).toString(16)}`
}
