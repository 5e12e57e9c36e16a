/**
 * How many JSON values a text holds, counted without parsing it: the bound on the work one envelope costs its
 * receiver (`maxEnvelopeValues`). `JSON.parse` and `JSON.stringify` cost about a microsecond per value on a quiet
 * machine whatever their bytes, so a 3.6 MB object of 400,000 one-character keys, under the frame limit, blocked
 * a loaded receiver for seconds: a byte limit does not bound the work, a count of values does.
 *
 * A value is a number, string, `true`, `false`, `null`, array or object, each array element and each object
 * member's value counting as one (keys do not count: each comes with its value). In JSON text that is
 * `1 + commas + non-empty arrays and objects` (outside strings), so the count is one scan for the structural
 * characters, strings skipped with `indexOf`: a few milliseconds per megabyte. A text of `n` values has at least
 * `2n - 1` characters (a value and a separator each), so a text shorter than `2 * limit - 1` bytes is under
 * any limit without a scan ({@link mayExceed}).
 *
 * The sender counts the JSON it sends ({@link countValues}); the receiver counts each envelope of a data frame in
 * the frame's bytes, before the frame is parsed ({@link scanFrame}). Both count the same text the same way.
 */

/** Whether a JSON text of `bytes` UTF-8 bytes can hold more than `limit` values (else no count is needed). */
export const mayExceed = (bytes: number, limit: number): boolean => bytes + 1 > 2 * limit

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** Where the string whose opening quote is at `at` in `text` ends (its closing quote), or `text.length`. */
const stringEnd = (text: string, at: number): number => {
  let quote = text.indexOf('"', at + 1)
  while (quote >= 0) {
    let backslashes = 0
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++
    if ((backslashes & 1) === 0) return quote
    quote = text.indexOf('"', quote + 1)
  }
  return text.length
}

/** As {@link stringEnd}, in UTF-8 bytes (a quote or backslash byte is never part of a multi-byte character). */
const bytesStringEnd = (bytes: Uint8Array, at: number, end: number): number => {
  let quote = bytes.indexOf(QUOTE, at + 1)
  while (quote >= 0 && quote < end) {
    let backslashes = 0
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++
    if ((backslashes & 1) === 0) return quote
    quote = bytes.indexOf(QUOTE, quote + 1)
  }
  return end
}

/**
 * The values in the JSON text `text` (one value: an envelope, a payload).
 *
 * @example
 * ```ts
 * countValues('{"a":[1,2],"b":{}}') // 5: the object, the array, 1, 2, {}
 * ```
 */
export const countValues = (text: string): number => {
  let values = 1
  let opened = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = stringEnd(text, i)
      opened = false
    } else if (c === COMMA) {
      values++
      opened = false
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      values++
      opened = true
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (opened) values--
      opened = false
    } else if (!isSpace(c)) opened = false
  }
  return values
}

/** An envelope of a data frame over the limit: its index in `envelopes`, its bytes `[start, end)`, its values. */
export interface Wide {
  readonly index: number
  readonly start: number
  readonly end: number
  readonly values: number
}

/** What {@link scanFrame} found: the envelopes over the limit, and the frame's values outside its envelopes. */
export interface FrameScan {
  readonly wide: ReadonlyArray<Wide>
  /** The frame's own values: its fields, the `envelopes` array, and each envelope as one. */
  readonly rest: number
  /** The values of its widest envelope. */
  readonly widest: number
}

const ENVELOPES = Buffer.from("envelopes")

/**
 * Counts the values of a frame's bytes (a JSON object): those of each element of its top-level `envelopes` array
 * apart (each element counts itself and what it holds), and the rest. The envelopes over `limit` are listed, and
 * the widest one's values given.
 * Bytes that are not JSON are counted all the same (the parse that follows refuses them).
 */
export const scanFrame = (bytes: Uint8Array, limit: number): FrameScan => {
  const wide: Array<Wide> = []
  const end = bytes.length
  let rest = 1
  let element = 0
  let depth = 0
  let opened = false
  /** Inside the top-level `envelopes` array (at depth 2), and whether an element starts at the next value. */
  let inEnvelopes = false
  let expecting = false
  let index = -1
  let start = 0
  /** The last string at depth 1 (a key of the frame), `[keyStart, keyEnd)`. */
  let keyStart = 0
  let keyEnd = 0
  let widest = 0
  const finish = (at: number) => {
    if (index < 0) return
    if (element > widest) widest = element
    if (element > limit) wide.push({ index, start, end: at, values: element })
  }
  for (let i = 0; i < end; i++) {
    const c = bytes[i]!
    if (isSpace(c)) continue
    const inElement = inEnvelopes && depth >= 2
    if (inElement && depth === 2 && expecting && c !== CLOSE_ARRAY) {
      expecting = false
      index++
      start = i
      element = 1
    }
    if (c === QUOTE) {
      const close = bytesStringEnd(bytes, i, end)
      if (depth === 1) {
        keyStart = i + 1
        keyEnd = close
      }
      i = close
      opened = false
    } else if (c === COMMA) {
      if (inElement && depth > 2) element++
      else {
        rest++
        if (inElement) {
          finish(i)
          expecting = true
        }
      }
      opened = false
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (inElement) element++
      else rest++
      if (depth === 1 && c === OPEN_ARRAY && isEnvelopes(bytes, keyStart, keyEnd)) {
        inEnvelopes = true
        expecting = true
      }
      depth++
      opened = true
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--
      // the container opened at this depth: an element's (depth 2 and more inside the array) or the frame's
      if (opened) {
        if (inEnvelopes && depth >= 2) element--
        else rest--
      }
      if (inEnvelopes && depth === 1) {
        finish(i)
        inEnvelopes = false
        index = -1
      }
      opened = false
    } else opened = false
  }
  return { wide, rest, widest }
}

const isEnvelopes = (bytes: Uint8Array, start: number, end: number): boolean => {
  if (end - start !== ENVELOPES.length) return false
  for (let i = 0; i < ENVELOPES.length; i++) if (bytes[start + i] !== ENVELOPES[i]) return false
  return true
}
