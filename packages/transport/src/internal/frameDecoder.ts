/**
 * A connection's decoder of inbound frames: `data` frames are parsed envelope by envelope, and an envelope that
 * starts and ends with text this decoder has parsed before (one sender's tells to one actor all do, byte for
 * byte: see `Envelope.template`) has only its payload parsed; its other fields are the ones parsed before (a head is learned the second time it is seen:
 * see `frameHeads.ts`).
 *
 * The result is the value `JSON.parse` gives for the whole frame (each envelope numbered, `seq`, as the inbound
 * side numbers it), or else the frame is decoded whole with {@link Frame.decodeText}, as every other frame is. A
 * frame of one envelope this decoder has no head for is parsed whole at once: one piece cut out and parsed costs
 * more than the frame's own `JSON.parse`. A frame of one ask or one reply (each with its own correlation id after
 * its payload, so their heads are not kept here) is read by `requestHeads.ts` once their head is known.
 *
 * Its payload is read where it starts by the connection's {@link JsonReader} (small payloads: no slice, no
 * parser call), whose grammar says where it ends, and a known tail must follow; a payload the reader declines is
 * parsed with `JSON.parse` between the head and the envelope's end, found as below.
 *
 * Why a piece that parses is the right piece: the decoder accepts a frame only when it has matched ALL of its
 * text, in order, as the frame's fixed prefix (its counts JSON integers), then envelopes separated by `,`, then
 * `]}` (when the reader did not end the payload, an envelope ends at a `}` followed by `,{"kind":"`, where the
 * next one starts, or by the frame's `]}`; one whose kind no `","to":` follows is taken for an object inside the
 * payload and passed over); each envelope is a known head (`{"kind":K,"to":T,"payload":`) + one JSON value (read
 * by the reader, or a text that `JSON.parse` accepts) + a known tail (`}` or `,"from":F}`), or a text that
 * `JSON.parse` accepts as a whole (an envelope it has no head or tail for: it teaches them when they have that
 * form, from their second sight). Heads and tails are made here with
 * `JSON.stringify` from parsed values, with distinct keys, so each is a piece of JSON grammar that means exactly
 * its values. Such a frame is then valid JSON, and JSON's grammar is unambiguous: its one parse is the one the
 * decoder found, so the result equals `JSON.parse` of the whole frame. A wrong cut cannot pass: a proper prefix
 * of a JSON object, array or string is never a JSON value on its own (its closing bracket or quote is its last
 * character), a cut after the value leaves text that no value is followed by, and a `},{` inside a string or a
 * nested value makes the piece fail to parse, never parse into something else. Anything else (an envelope that
 * fails to parse on its own, whitespace between envelopes, another frame layout) and the frame is parsed whole.
 *
 * A failed piece throws, and exceptions are slow: a frame with a third failed piece is parsed whole, and after a
 * frame it could not decode, the decoder leaves the next data frames of its connection to the whole parse (4,
 * then twice as many after each further failure, up to 1024), so payloads that keep failing (arrays of
 * envelope-like objects) cost a throw per many frames. After the reader declines a head's payload, that
 * head's next payloads go to `JSON.parse` (1, then twice as many after each further decline, up to 1024).
 */
import { Result } from "effect"
import type * as Envelope from "../Envelope.ts"
import * as Frame from "../Frame.ts"
import { type Head, Heads, isAt, make, type Tail, tailAt } from "./frameHeads.ts"
import { declined, JsonReader } from "./jsonReader.ts"
import { RequestHeads } from "./requestHeads.ts"

/** The start of a `data` frame as `Frame.encodeData` writes it. */
const DATA = '{"type":"data","ack":'
const FIRST = ',"first":'
const ENVELOPES = ',"envelopes":['
/** An envelope's end followed by the next envelope's start, in the key order `Envelope.make` writes. */
const NEXT = '},{"kind":"'
/** What follows the next envelope's kind. */
const TO = '","to":'

/** How an ask's and a reply's envelopes start: their heads are kept apart (each has its own correlation id). */
const ASK = '{"kind":"ask",'
const REPLY = '{"kind":"reply",'

/** Whether the envelope at `pos` is an ask or a reply: a lone one is read by its own path (`requestHeads.ts`). */
const isRequestOrReply = (text: string, pos: number): boolean => {
  const kind = text.charCodeAt(pos + 9) // the kind's first letter: a tell's or a system message's fails here
  return (kind === 97 && text.startsWith(ASK, pos)) || (kind === 114 && text.startsWith(REPLY, pos))
}

const MIN_SKIP = 4
const MAX_SKIP = 1024

/** The position after the count read by {@link count}. */
let after = 0

/** A JSON integer of 1 to 15 digits at `pos` (no sign, no leading zero), or -1. */
const count = (text: string, pos: number): number => {
  let value = 0
  let i = pos
  for (; i < text.length && i - pos < 16; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) break
    value = value * 10 + digit
  }
  const digits = i - pos
  if (digits === 0 || digits > 15 || (digits > 1 && text.charCodeAt(pos) === 48)) return -1
  after = i
  return value
}

/** Whether `text[from, to)` can be one JSON value: an object, array or string must end as it started. */
const plausible = (text: string, from: number, to: number): boolean => {
  if (to <= from) return false
  const first = text.charCodeAt(from)
  const last = text.charCodeAt(to - 1)
  if (first === 123) return last === 125 // { }
  if (first === 91) return last === 93 // [ ]
  if (first === 34) return last === 34 && to - from > 1 // " "
  return true
}

/**
 * A connection's frame decoder (see the module's doc).
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder()
 * const decoded = decoder.decode(bytes, true) // as Frame.decode(bytes, true)
 * ```
 */
export class FrameDecoder {
  private readonly heads = new Heads()
  private readonly requests = new RequestHeads()
  private readonly reader = new JsonReader()
  /** Data frames left to the whole parse, and how many the next failure leaves. */
  private skip = 0
  private penalty = MIN_SKIP
  /**
   * How many envelopes of the last frame decoded, from the first, are valid envelopes for sure: each made of a
   * head and tail found valid once and a payload the reader read (JSON by its making), so the inbound side
   * need not check them again.
   */
  valid = 0
  /** Whether the last frame of {@link data} was parsed whole (checked then as any parsed frame), not made here. */
  private parsed = false
  /** Data frames decoded envelope by envelope, attempts that ended in a whole parse, pieces that threw (for tests). */
  decoded = 0
  failed = 0
  throws = 0

  /** The heads and tails kept (for tests). */
  get kept(): number {
    return this.heads.kept
  }

  /** The heads of asks and replies and their senders kept (for tests). */
  get requestsKept(): number {
    return this.requests.kept
  }

  /** Why the last message {@link read} refused is not a frame. */
  problem: Envelope.Problem | undefined = undefined

  /** Decodes one WebSocket message, as `Frame.decode` does. */
  decode(bytes: Uint8Array, isBinary: boolean): Result.Result<Frame.Frame, Envelope.Problem> {
    const frame = this.read(bytes, isBinary)
    return frame === undefined ? Result.fail(this.problem!) : Result.succeed(frame)
  }

  /**
   * {@link decode} without its `Result` (what the engine reads every frame with): the frame, or undefined and the
   * {@link problem}. A data frame made here (every lone ask and reply) then costs no object but itself.
   */
  read(bytes: Uint8Array, isBinary: boolean): Frame.Frame | undefined {
    this.valid = 0
    if (!isBinary) return this.unwrap(Frame.decode(bytes, isBinary))
    // a Buffer (what a socket gives) read as it is; another view of bytes through a Buffer over the same memory
    const text = (
      Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    ).toString("utf8")
    if (text.startsWith(DATA)) {
      if (this.skip > 0) this.skip--
      else {
        let frame: Frame.Data | undefined
        this.parsed = false
        try {
          frame = this.data(text)
        } catch {
          this.throws++
          frame = undefined // a piece that is not JSON: the whole parse has the last word
        }
        if (frame !== undefined) {
          this.decoded++
          this.penalty = MIN_SKIP
          // a frame made here is a data frame by its making (counts of 1 to 15 digits, the first at least 1, an
          // array): not checked again, and the check's code sees only parsed frames (one shape less for V8)
          return this.parsed ? this.unwrap(Frame.decodeValue(frame)) : frame
        }
        this.failed++
        this.skip = this.penalty
        this.penalty = Math.min(MAX_SKIP, this.penalty * 2)
      }
    }
    return this.unwrap(Frame.decodeText(text))
  }

  /** The frame `decoded` holds, or undefined with its {@link problem}. */
  private unwrap(decoded: Result.Result<Frame.Frame, Envelope.Problem>): Frame.Frame | undefined {
    if (Result.isSuccess(decoded)) return decoded.success
    this.problem = decoded.failure
    return undefined
  }

  /**
   * The data frame `text`, decoded envelope by envelope, or undefined if in doubt. May throw. Small on purpose: a
   * frame of one ask or reply, or of one envelope of a sender not seen yet, goes its own way here, and the loop over
   * a frame's envelopes is {@link envelopes}, a function of its own that V8 compiles (on stack, during the first long
   * frame) knowing only its loop: the first lone frame after many batches, or the first batch after many lone
   * frames (a hundred senders' first tells), deoptimizes only this small function, not the loop.
   */
  private data(text: string): Frame.Data | undefined {
    const ack = count(text, DATA.length)
    if (ack < 0 || !text.startsWith(FIRST, after)) return undefined
    const first = count(text, after + FIRST.length)
    if (first < 1 || !text.startsWith(ENVELOPES, after)) return undefined
    /** Where the last envelope's `}` is, before the frame's `]}`; -1 if the frame does not end so. */
    const last = text.endsWith("}]}") ? text.length - 3 : -1
    const pos = after + ENVELOPES.length
    if (last >= 0 && text.indexOf(NEXT, pos) < 0) {
      if (isRequestOrReply(text, pos)) return this.request(text, pos, last, ack, first)
      if (this.heads.at(text, pos) === undefined) return this.lone(text, pos, last)
    }
    const envelopes: Array<unknown> = []
    const valid = this.envelopes(text, pos, last, first, envelopes)
    if (valid < 0) return undefined
    this.valid = valid
    return dataFrame(ack, first, envelopes)
  }

  /**
   * Decodes the envelopes of a data frame from `pos` (the first's) to `last` (see {@link data}) into `envelopes`,
   * numbered from `first`; returns how many of them, from the first, are valid for sure (see {@link valid}), or -1
   * if in doubt. May throw. It ends where its loop ends: code after a loop that V8 compiled on stack during the
   * frame that first ran it has no type feedback, and the compiled loop would deoptimize there at every frame.
   */
  private envelopes(text: string, pos: number, last: number, first: number, envelopes: Array<unknown>): number {
    const reader = this.reader
    /** The head at `pos`, already checked (by the previous envelope's joint), or undefined. */
    let checked: Head | undefined
    /** Pieces that failed to parse (each a throw): past two, the frame is parsed whole. */
    let misses = 0
    /** The envelopes known valid so far, from the first (see {@link valid}), and whether all so far are. */
    let valid = 0
    let all = true
    for (let seq = first; ; seq++) {
      const head = checked ?? this.heads.at(text, pos)
      checked = undefined
      const from = head === undefined ? pos : pos + head.text.length
      let tail: Tail | undefined
      let end = -1
      if (head !== undefined && head.skip > 0) head.skip--
      else if (head !== undefined) {
        // the payload read where it starts: its grammar ends it, and a known tail must follow
        const payload = reader.read(text, from)
        if (payload === declined) {
          head.skip = head.penalty // payloads this reader declines are left to JSON.parse for a while
          head.penalty = Math.min(MAX_SKIP, head.penalty * 2)
        } else {
          head.penalty = 1
          const at = reader.end
          const joint = head.joint
          if (joint !== undefined && isAt(text, joint.text, at)) {
            envelopes.push(make(head, joint.tail, payload, seq))
            if (all && joint.tail.valid) valid++
            else all = false
            pos = at + joint.tail.text.length + 1
            checked = joint.next
            continue
          }
          tail = tailAt(head, text, at, last)
          if (tail !== undefined) {
            envelopes.push(make(head, tail, payload, seq))
            if (all && tail.valid) valid++
            else all = false
            end = at + tail.text.length - 1
          }
        }
      }
      if (tail === undefined) {
        all = false
        // where this envelope ends: before the next `},{"kind":"`, else the frame's `}]}` (see the module's doc)
        end = nextEnd(text, from, last)
        if (end < 0) return -1
        // past the `},{"kind":"` of objects inside the payload (no `","to":` follows their kind)
        while (end !== last && !isAt(text, TO, text.indexOf('"', end + NEXT.length))) {
          end = nextEnd(text, end + 1, last)
          if (end < 0) return -1
        }
        if (head !== undefined) {
          for (const t of head.tails) {
            const to = end + 1 - t.text.length
            if (to > from && isAt(text, t.text, to) && plausible(text, from, to)) {
              const payload = parse(text, from, to)
              if (payload !== failed) {
                envelopes.push(make(head, t, payload, seq))
                tail = t
                break
              }
              this.throws++
              if (++misses > 2) return -1
            }
          }
        }
        if (tail === undefined) {
          const envelope: unknown = JSON.parse(text.slice(pos, end + 1))
          const learned = this.heads.learn(text, pos, end, envelope)
          envelopes.push(
            learned === undefined
              ? envelope
              : make(learned, this.heads.tail, (envelope as { payload: unknown }).payload, seq)
          )
          if (learned !== undefined) tail = this.heads.tail
        }
      }
      if (end === last) break
      pos = end + 2
      // the next head, checked here, and this head's joint to it for the next time
      if (head === undefined || tail === undefined) continue
      const next = this.heads.at(text, pos)
      if (next === undefined) continue
      checked = next
      const joint = head.joint
      if (joint === undefined || joint.tail !== tail || joint.next !== next)
        head.joint = { text: `${tail.text},${next.text}`, tail, next }
    }
    return valid
  }

  /**
   * A frame of one ask or one reply, from `pos` to `last`: read without `JSON.parse` once its head is known (see
   * `requestHeads.ts`), else parsed whole and its head learned. May throw.
   */
  private request(text: string, pos: number, last: number, ack: number, first: number): Frame.Data {
    const envelope = this.requests.decode(text, pos, last, first)
    if (envelope !== undefined) {
      this.valid = this.requests.vouched ? 1 : 0
      return dataFrame(ack, first, [envelope])
    }
    const frame = JSON.parse(text) as Frame.Data
    this.parsed = true
    const envelopes: unknown = frame?.envelopes
    if (Array.isArray(envelopes) && envelopes.length === 1) this.requests.learn(text, pos, envelopes[0])
    return frame
  }

  /**
   * A frame of one envelope whose head is not known (a new sender's first tell, say), from `pos` to `last`: parsed
   * whole (one `JSON.parse`, as every other frame: cutting out its one piece only costs more), and its head and
   * tail learned when it has their form (on their second sight). May throw.
   */
  private lone(text: string, pos: number, last: number): Frame.Data {
    const frame = JSON.parse(text) as Frame.Data
    this.parsed = true
    const envelopes: unknown = frame?.envelopes
    // the frame's text ends with its one envelope's `}` (at `last`): `learn` checks that the text starts with its head
    if (Array.isArray(envelopes) && envelopes.length === 1) this.heads.learn(text, pos, last, envelopes[0])
    return frame
  }
}

/** A decoded data frame (one object literal for every path that makes one: its type feedback comes early). */
const dataFrame = (ack: number, first: number, envelopes: Array<unknown>): Frame.Data => ({
  type: "data",
  ack,
  first,
  envelopes: envelopes as Frame.Data["envelopes"]
})

const failed: unique symbol = Symbol("failed")

/**
 * The payload `text[from, to)`, or `failed` when it is not one JSON value: `}` ends every tail, so a tail not
 * known yet (a new sender's) leaves `payload,"from":{...}` here once, before the envelope parsed whole teaches it.
 */
const parse = (text: string, from: number, to: number): unknown => {
  try {
    return JSON.parse(text.slice(from, to))
  } catch {
    return failed
  }
}

/**
 * Where the envelope that starts at or before `from` may end: the `}` of the next `},{"kind":"`, else of the
 * frame's closing `}]}`; -1 if neither.
 */
const nextEnd = (text: string, from: number, last: number): number => {
  const next = text.indexOf(NEXT, from)
  if (next >= 0) return next
  return last >= from ? last : -1
}
