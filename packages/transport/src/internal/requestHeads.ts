/**
 * The frame decoder's path for a `data` frame of one ask or one reply (a caller waits for each: they are the round
 * trip of an ask), decoded without `JSON.parse`: every ask to one actor starts with the same text, and so does
 * every reply on a link (`{"kind":K,"to":T,"payload":`, a head), and only the payload and the fields after it vary:
 * the sender (`,"from":F`, one of a few per head), the correlation id, the trace context and the deadline, in the
 * order `Envelope.make` writes them. The payload is read by the connection's {@link JsonReader}, the fields after
 * it here, and the envelope must end where the frame's `]}` starts: the whole text is then matched by JSON's
 * grammar, so the envelope is the one `JSON.parse` gives (see `frameDecoder.ts` for why a match that reads all the
 * text in order gives the same value), and a valid one (its head and sender were checked when they were learned,
 * the rest is checked here), so the inbound side need not check it again. The correlation id is a plain string of
 * the frame's text: `JSON.parse` interns every short string value in V8's string table, one new entry per ask.
 *
 * Anything else is left to the whole parse (`undefined`): a head or sender not learned yet (learned from that
 * parse), a payload the reader declines (then that head's next payloads go to `JSON.parse` for a while, as for
 * tells), an id with an escape, another field, another order, whitespace.
 *
 * @example
 * ```ts
 * const heads = new RequestHeads()
 * heads.decode(text, pos, last, reader, first) // undefined the first time: parse it whole, then
 * heads.learn(text, pos, (JSON.parse(text) as Frame.Data).envelopes[0])
 * heads.decode(text2, pos, last2, reader, first2) // the envelope, as JSON.parse of the frame gives it, numbered
 * ```
 */
import type { ActorAddress } from "../ActorAddress.ts"
import * as Envelope from "../Envelope.ts"
import { address, addressJson, isAddress, isAt, PAYLOAD } from "./frameHeads.ts"
import { declined, type JsonReader } from "./jsonReader.ts"

/** How many heads a connection keeps, senders per head, and the longest head or sender kept (bounded per peer). */
const HEADS = 64
const SENDERS = 8
const LONGEST = 512
/** Payloads left to `JSON.parse` after the reader declines one: twice as many after each further decline, up to. */
const MAX_SKIP = 1024
/** Correlation ids up to this long are copied from the text; longer ones are made by `JSON.parse`, up to `LONG_ID`. */
const SHORT_ID = 12
const LONG_ID = 256

const FROM = ',"from":'
const CORRELATION_ID = ',"correlationId":"'
const TRACEPARENT = ',"traceparent":"'
const TRACEPARENT_LENGTH = 55
const DEADLINE = ',"deadline":'

/** The fields after an envelope's payload, in the order `Envelope.make` writes them. */
const AFTER = ["from", "correlationId", "traceparent", "deadline"]

/** A sender's text after a head's payload, and its address. */
interface Sender {
  readonly text: string
  readonly from: ActorAddress
}

/** An ask's or a reply's text before its payload, what it means, and the senders seen after it. */
interface RequestHead {
  readonly text: string
  readonly kind: "ask" | "reply"
  readonly to: ActorAddress
  readonly senders: Array<Sender>
  /** Payloads left to `JSON.parse` (after the reader declined one), and how many the next decline leaves. */
  skip: number
  penalty: number
}

/** A connection's heads of asks and replies (see the module's doc). */
export class RequestHeads {
  private readonly byText = new Map<string, RequestHead>()
  private last: RequestHead | undefined = undefined

  /** The heads and senders kept (for tests). */
  get kept(): number {
    let kept = 0
    for (const head of this.byText.values()) kept += 1 + head.senders.length
    return kept
  }

  /** The known head at `pos`: the last one used, else looked up by its text. */
  private at(text: string, pos: number): RequestHead | undefined {
    const last = this.last
    if (last !== undefined && isAt(text, last.text, pos)) return last
    if (this.byText.size === 0) return undefined
    const start = text.substring(pos, pos + LONGEST)
    const at = start.indexOf(PAYLOAD)
    if (at < 0) return undefined
    const head = this.byText.get(start.slice(0, at + PAYLOAD.length))
    if (head !== undefined) this.last = head
    return head
  }

  /**
   * The ask or reply envelope at `pos` whose `}` is at `last` (the frame's text ends with `]}` after it), numbered
   * `seq`, read with `reader`; undefined when in doubt (parse the frame whole, and {@link learn} from it).
   */
  decode(text: string, pos: number, last: number, reader: JsonReader, seq: number): Envelope.Envelope | undefined {
    const head = this.at(text, pos)
    if (head === undefined) return undefined
    if (head.skip > 0) {
      head.skip--
      return undefined
    }
    const payload = reader.read(text, pos + head.text.length)
    if (payload === declined) {
      head.skip = head.penalty
      head.penalty = Math.min(MAX_SKIP, head.penalty * 2)
      return undefined
    }
    head.penalty = 1
    let at = reader.end
    let from: ActorAddress | undefined
    // each field after the payload told by its name's first letter (`,"f`, `,"c`, `,"t`, `,"d`), then its whole
    // name: no string made per envelope to compare with (a substring of the frame is one allocation per check)
    if (text.charCodeAt(at + 2) === 102 && text.startsWith(FROM, at)) {
      const sender = senderAt(head, text, at)
      if (sender === undefined) return undefined
      from = sender.from
      at += sender.text.length
    }
    let correlationId: string | undefined
    if (text.charCodeAt(at + 2) === 99 && text.startsWith(CORRELATION_ID, at)) {
      const start = at + CORRELATION_ID.length
      const end = plainEnd(text, start)
      if (end < 0) return undefined
      // a short one copied; a longer one made by JSON.parse (a slice would keep the frame's text alive with it)
      correlationId =
        end - start <= SHORT_ID ? text.slice(start, end) : (JSON.parse(text.slice(start - 1, end + 1)) as string)
      at = end + 1
    }
    let traceparent: string | undefined
    if (text.charCodeAt(at + 2) === 116 && text.startsWith(TRACEPARENT, at)) {
      const start = at + TRACEPARENT.length
      if (text.charCodeAt(start + TRACEPARENT_LENGTH) !== 34) return undefined // "
      traceparent = text.slice(start, start + TRACEPARENT_LENGTH)
      if (!Envelope.isTraceparent(traceparent)) return undefined
      at = start + TRACEPARENT_LENGTH + 1
    }
    let deadline: number | undefined
    if (text.charCodeAt(at + 2) === 100 && text.startsWith(DEADLINE, at)) {
      const value = reader.read(text, at + DEADLINE.length)
      if (typeof value !== "number") return undefined
      deadline = value
      at = reader.end
    }
    if (at !== last) return undefined
    const kind = head.kind
    const to = head.to
    const value = payload as Envelope.Envelope["payload"]
    // the usual ask (an id and a deadline) and reply (an id): one object literal each, with or without a sender, so
    // the envelope is made in one allocation of its final shape (adding its fields one by one grows it twice)
    if (correlationId !== undefined && traceparent === undefined) {
      if (deadline !== undefined)
        return from === undefined
          ? { kind, to, payload: value, correlationId, deadline, seq }
          : { kind, to, payload: value, from, correlationId, deadline, seq }
      return from === undefined
        ? { kind, to, payload: value, correlationId, seq }
        : { kind, to, payload: value, from, correlationId, seq }
    }
    const envelope: { -readonly [K in keyof Envelope.Envelope]: Envelope.Envelope[K] } = {
      kind: head.kind,
      to: head.to,
      payload: payload as Envelope.Envelope["payload"]
    }
    if (from !== undefined) envelope.from = from
    if (correlationId !== undefined) envelope.correlationId = correlationId
    if (traceparent !== undefined) envelope.traceparent = traceparent
    if (deadline !== undefined) envelope.deadline = deadline
    envelope.seq = seq
    return envelope
  }

  /**
   * An ask or reply envelope parsed whole from `text` at `pos`: its head (and its sender) are kept for the next
   * ones when it is valid and the text `Envelope.make` writes for its fields (`kind`, `to`, `payload`, then some of
   * `from`, `correlationId`, `traceparent`, `deadline`, in that order); any other value is passed over.
   */
  learn(text: string, pos: number, value: unknown): void {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return
    const e = value as { readonly [key: string]: unknown }
    const keys = Object.keys(e)
    if (keys[0] !== "kind" || keys[1] !== "to" || keys[2] !== "payload" || (e.kind !== "ask" && e.kind !== "reply"))
      return
    let next = 0
    for (let i = 3; i < keys.length; i++) {
      const index = AFTER.indexOf(keys[i]!, next)
      if (index < 0) return
      next = index + 1
    }
    if (!isAddress(e.to) || (e.from !== undefined && !isAddress(e.from))) return
    const from = e.from === undefined ? undefined : address(e.from as ActorAddress)
    // checked as an envelope once (its payload, id, trace context and deadline are checked each time they are read)
    if (
      !Envelope.isEnvelope(
        from === undefined ? { kind: e.kind, to: e.to, payload: null } : { kind: e.kind, to: e.to, from, payload: null }
      )
    )
      return
    const headText = `{"kind":"${e.kind}","to":${addressJson(e.to as ActorAddress)}${PAYLOAD}`
    if (headText.length > LONGEST || !text.startsWith(headText, pos)) return
    let head = this.byText.get(headText)
    if (head === undefined) {
      if (this.byText.size >= HEADS) this.forget()
      const kind = e.kind as "ask" | "reply"
      head = { text: headText, kind, to: address(e.to as ActorAddress), senders: [], skip: 0, penalty: 1 }
      this.byText.set(headText, head)
    }
    this.last = head
    if (from === undefined) return
    const senderText = `${FROM}${addressJson(from)}`
    // kept only if the sender wrote it so (its own escapes would never match again)
    if (senderText.length > LONGEST || text.indexOf(senderText, pos + headText.length) < 0) return
    if (head.senders.some((s) => s.text === senderText)) return
    if (head.senders.length >= SENDERS) head.senders.shift()
    head.senders.push({ text: senderText, from })
  }

  /** Forgets the oldest head. */
  private forget(): void {
    const [text, oldest] = this.byText.entries().next().value as [string, RequestHead]
    this.byText.delete(text)
    if (this.last === oldest) this.last = undefined
  }
}

/** The sender of `head` at `at`. */
const senderAt = (head: RequestHead, text: string, at: number): Sender | undefined => {
  const senders = head.senders
  for (let i = 0; i < senders.length; i++) if (isAt(text, senders[i]!.text, at)) return senders[i]
  return undefined
}

/**
 * Where the string that starts at `start` ends (its closing quote) when it is at most {@link LONG_ID} characters
 * without an escape or a control character (`JSON.parse` refuses those); -1 for any other.
 */
const plainEnd = (text: string, start: number): number => {
  for (let i = start; i <= start + LONG_ID; i++) {
    const c = text.charCodeAt(i)
    if (c === 34) return i
    if (!(c >= 32) || c === 92) return -1
  }
  return -1
}
