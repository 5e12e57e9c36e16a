/**
 * Reads one JSON value where it starts in a text, giving what `JSON.parse` gives for that value, for the frame
 * decoder's payloads: no slice of the frame and no parser call per payload, and the value's end is where its
 * grammar ends it (the decoder then checks what follows, instead of searching for an envelope's end first).
 *
 * It reads small values as `JSON.stringify` writes them and declines the rest ({@link declined}), which the
 * decoder leaves to `JSON.parse`: more than 32 JSON values in all (past that, `JSON.parse`, made in C++, costs
 * less per value than its call and the text's slice cost; this also bounds the nesting, far below the envelope
 * check's limit), an object of more than 16 keys (made key by key, a bigger one would become a slow dictionary
 * object), whitespace between tokens, a key with an escape or the key `__proto__` (`JSON.parse` makes it an own
 * property), a number that is not finite, and anything that is not JSON. Strings of up to 12 characters
 * without escapes are copied here; longer ones, and any with an escape, are parsed by `JSON.parse` on their own
 * text (a fresh string, never a slice that would keep the frame's text alive). Short strings, keys and values,
 * are kept (64 at most) and given again when the same text comes again, as `JSON.parse` makes short strings
 * unique: no new string per object for its keys or its tag, and a tag the runtime looks a handler up by is a
 * string it has looked up before.
 */
/** What {@link JsonReader.read} returns for a text it does not read (see the module's doc). */
export const declined: unique symbol = Symbol("declined")

const MAX_KEYS = 16
const MAX_VALUES = 32
/** Strings this long or longer are parsed by `JSON.parse` (a slice of 13 characters or more shares its text). */
const LONG = 13
const SLOTS = 64

/**
 * A reader of JSON values (see the module's doc); one per connection, as it keeps the short strings it has read.
 *
 * @example
 * ```ts
 * const reader = new JsonReader()
 * const value = reader.read('{"payload":{"n":1},"x":2}', 11) // { n: 1 }, and reader.end === 18
 * ```
 */
export class JsonReader {
  /** Where the last value read ends (the position after it). */
  end = 0
  /** Short strings read before (see the module's doc). */
  private readonly kept: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined)

  /**
   * The objects and arrays being read, outermost first, with the key each object's next value goes to (undefined
   * for an array) and how many keys it has: kept between reads (emptied after each), so a read allocates only what
   * it returns.
   */
  private readonly open: Array<{ [key: string]: unknown } | Array<unknown> | undefined> = []
  private readonly keys: Array<string | undefined> = []
  private readonly counts: Array<number> = []

  /**
   * The JSON value at `pos` in `text`, or {@link declined}. One loop for any nesting (no call per value or
   * container): a reader made of functions that call each other is compiled many times over by the optimising
   * compiler, each function with the others inlined, which costs more CPU than the reads in a process's first
   * thousands of asks.
   */
  read(text: string, pos: number): unknown {
    this.end = pos
    const open = this.open
    const keys = this.keys
    const counts = this.counts
    let depth = 0
    let budget = MAX_VALUES
    for (;;) {
      // a value starts at `this.end`
      if (--budget < 0) return this.decline(depth)
      let value: unknown
      const c = text.charCodeAt(this.end)
      if (c === 123) {
        // {
        if (text.charCodeAt(++this.end) === 125) {
          this.end++
          value = {}
        } else {
          const key = this.key(text)
          if (key === undefined || text.charCodeAt(this.end++) !== 58) return this.decline(depth) // :
          open[depth] = {}
          keys[depth] = key
          counts[depth] = 1
          depth++
          continue
        }
      } else if (c === 91) {
        // [
        if (text.charCodeAt(++this.end) === 93) {
          this.end++
          value = []
        } else {
          open[depth] = []
          keys[depth] = undefined
          depth++
          continue
        }
      } else if (c === 34) value = this.string(text)
      else if (c === 116) value = this.literal(text, "true", true)
      else if (c === 102) value = this.literal(text, "false", false)
      else if (c === 110) value = this.literal(text, "null", null)
      else value = this.number(text)
      if (value === declined) return this.decline(depth)
      // the value goes into the innermost container; each container it closes is the next value
      for (;;) {
        if (depth === 0) return value
        const at = depth - 1
        const container = open[at]!
        const key = keys[at]
        const next = text.charCodeAt(this.end++)
        if (key !== undefined) {
          ;(container as { [key: string]: unknown })[key] = value
          if (next === 125) {
            // }
            depth = at
            open[at] = undefined
            keys[at] = undefined
            value = container
            continue
          }
          if (next !== 44 || counts[at]! >= MAX_KEYS) return this.decline(depth) // ,
          const following = this.key(text)
          if (following === undefined || text.charCodeAt(this.end++) !== 58) return this.decline(depth) // :
          keys[at] = following
          counts[at]!++
        } else {
          ;(container as Array<unknown>).push(value)
          if (next === 93) {
            // ]
            depth = at
            open[at] = undefined
            value = container
            continue
          }
          if (next !== 44) return this.decline(depth) // ,
        }
        break
      }
    }
  }

  /** {@link declined}, the containers being read let go. */
  private decline(depth: number): typeof declined {
    for (let i = 0; i < depth; i++) {
      this.open[i] = undefined
      this.keys[i] = undefined
    }
    return declined
  }

  /** A key without escapes; undefined for anything else. */
  private key(text: string): string | undefined {
    const start = this.end + 1
    if (text.charCodeAt(this.end) !== 34) return undefined
    let i = start
    for (;;) {
      const c = text.charCodeAt(i)
      if (c === 34) break
      if (!(c >= 32) || c === 92) return undefined // a control character, an escape, or the text's end
      i++
    }
    this.end = i + 1
    if (i - start >= LONG) return text.slice(start, i)
    const key = this.short(text, start, i, true)
    return key === "__proto__" ? undefined : key
  }

  /**
   * `text[start, end)`, shorter than {@link LONG}: the string kept if it is the same text, else a new one, kept
   * (a key as the engine's own copy, which property stores find at once: made once per key, not per object).
   */
  private short(text: string, start: number, end: number, key = false): string {
    const length = end - start
    const slot = (length * 31 + text.charCodeAt(start) * 7 + text.charCodeAt(end - 1)) & (SLOTS - 1)
    const kept = this.kept[slot]
    if (kept !== undefined && kept.length === length && isAt(text, kept, start)) return kept
    const string = key ? internalized(text.slice(start, end)) : text.slice(start, end)
    this.kept[slot] = string
    return string
  }

  private string(text: string): unknown {
    const start = this.end + 1
    for (let i = start; i < start + LONG; i++) {
      const c = text.charCodeAt(i)
      if (c === 34) {
        this.end = i + 1
        return this.short(text, start, i)
      }
      if (!(c >= 32) || c === 92) break // a control character (JSON.parse refuses it), an escape, or the end
    }
    // long, or with escapes: its end is the first quote not escaped; JSON.parse checks and makes the string
    let close = text.indexOf('"', start)
    for (; close > 0; close = text.indexOf('"', close + 1)) {
      let backslashes = 0
      while (text.charCodeAt(close - 1 - backslashes) === 92) backslashes++
      if (backslashes % 2 === 0) break
    }
    if (close < 0) return declined
    try {
      const value: unknown = JSON.parse(text.slice(this.end, close + 1))
      this.end = close + 1
      return value
    } catch {
      return declined
    }
  }

  private literal(text: string, word: string, value: boolean | null): unknown {
    if (!text.startsWith(word, this.end)) return declined
    this.end += word.length
    return value
  }

  /**
   * A JSON number. Its digits, read as an integer `m` with `e` the power of ten to scale it by, give the number
   * itself when `m` is exact (below 2^53) and `|e| <= 22` (10^e is then exact too, and one IEEE division or
   * multiplication rounds correctly, as `JSON.parse` does); any other goes to `Number` (after the grammar).
   */
  private number(text: string): unknown {
    const start = this.end
    const negative = text.charCodeAt(start) === 45 // -
    let i = negative ? start + 1 : start
    let m = 0
    let c = text.charCodeAt(i)
    if (c === 48)
      c = text.charCodeAt(++i) // 0: no digit may follow
    else if (c >= 49 && c <= 57) {
      do {
        m = m * 10 + (c - 48)
        c = text.charCodeAt(++i)
      } while (c >= 48 && c <= 57)
    } else return declined
    let e = 0
    if (c === 46) {
      // .
      const from = ++i
      for (c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) m = m * 10 + (c - 48)
      if (i === from) return declined
      e = from - i
    }
    if (c === 101 || c === 69) {
      // e, E
      let j = i + 1
      const sign = text.charCodeAt(j)
      if (sign === 43 || sign === 45) j++ // + -
      const from = j
      let exponent = 0
      for (c = text.charCodeAt(j); c >= 48 && c <= 57; c = text.charCodeAt(++j)) exponent = exponent * 10 + (c - 48)
      if (j === from) return declined
      e += sign === 45 ? -exponent : exponent
      i = j
    }
    if (c >= 48 && c <= 57) return declined // a digit after a leading zero
    this.end = i
    if (m <= Number.MAX_SAFE_INTEGER && e >= -22 && e <= 22) {
      const value = e === 0 ? m : e < 0 ? m / POWERS[-e]! : m * POWERS[e]!
      return negative ? -value : value
    }
    const value = Number(text.slice(start, i))
    return Number.isFinite(value) ? value : declined
  }
}

/** 10^0 to 10^22: each exact as a double. */
const POWERS = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
  1e21, 1e22
]

/** The engine's unique copy of `key` (the one property names are): the name of the property it makes. */
const internalized = (key: string): string => Object.keys({ [key]: 0 })[0]!

/** Whether `text` holds `piece` at `pos` (for short pieces: a loop beats `startsWith` and allocates nothing). */
const isAt = (text: string, piece: string, pos: number): boolean => {
  for (let i = 0; i < piece.length; i++) if (text.charCodeAt(pos + i) !== piece.charCodeAt(i)) return false
  return true
}
