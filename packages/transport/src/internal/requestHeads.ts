/**
 * The frame decoder's path for a `data` frame of one ask or one reply (a caller waits for each: they are the round
 * trip of an ask), decoded without `JSON.parse` of the frame: every ask to one actor starts with the same text, and so
 * does every reply on a link (`{"kind":K,"to":T,"payload":`, a head), and only the payload and the fields after it
 * vary: the sender (`,"from":F`, one of a few per head), the correlation id, the trace context and the deadline, in
 * the order `Envelope.make` writes them. Those fields are read here from the envelope's end backwards (each by its
 * own grammar: digits, a plain string, a trace context, a sender's text learned), and the payload, what is left
 * between the head and them, by one `JSON.parse` of its text (native code: no reader of ours to warm up and compile
 * in a process's first thousands of asks). When that text is one JSON value, the whole envelope's text is matched by
 * JSON's grammar with these fields, so it is the envelope `JSON.parse` of the frame gives (a JSON text has one
 * parse; a payload cannot hold a field of the envelope), and a valid one (its head and sender were checked when they
 * were learned, the rest is checked here), so the inbound side need not check it again. The correlation id is a
 * plain string of the frame's text: `JSON.parse` interns every short string value in V8's string table, one new entry
 * per ask.
 *
 * Anything else is left to the whole parse (`undefined`): a head or sender not learned yet (learned from that
 * parse), an id with an escape, a deadline not written as digits, another field, another order, whitespace between
 * the fields; a payload that is not JSON throws (the decoder then parses the frame whole).
 *
 * @example
 * ```ts
 * const heads = new RequestHeads()
 * heads.decode(text, pos, last, first) // undefined the first time: parse it whole, then
 * heads.learn(text, pos, (JSON.parse(text) as Frame.Data).envelopes[0])
 * heads.decode(text2, pos, last2, first2) // the envelope, as JSON.parse of the frame gives it, numbered
 * ```
 */
import type { ActorAddress } from "../ActorAddress.ts"
import * as Envelope from "../Envelope.ts"
import { address, addressJson, isAddress, isAt, PAYLOAD } from "./frameHeads.ts"

/** How many heads a connection keeps, senders per head, and the longest head or sender kept (bounded per peer). */
const HEADS = 64
const SENDERS = 8
const LONGEST = 512
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
}

/** A connection's heads of asks and replies (see the module's doc). */
export class RequestHeads {
  private readonly byText = new Map<string, RequestHead>()
  private last: RequestHead | undefined = undefined
  /**
   * Whether the last envelope {@link decode} gave is a valid envelope for sure (else the inbound side checks it):
   * its payload is too short to nest deeper than an envelope's may.
   */
  vouched = false

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
   * `seq`; undefined when in doubt (parse the frame whole, and {@link learn} from it). May throw (a payload that is
   * not JSON). The fields after the payload are read from the end (see the module's doc), the payload between by
   * `JSON.parse`.
   */
  decode(text: string, pos: number, last: number, seq: number): Envelope.Envelope | undefined {
    const head = this.at(text, pos)
    if (head === undefined) return undefined
    // from the envelope's `}` back: `,"deadline":D`, `,"traceparent":"T"`, `,"correlationId":"C"`, `,"from":F`
    let end = last
    let deadline: number | undefined
    let at = end - 1
    let c = text.charCodeAt(at)
    if (c >= 48 && c <= 57) {
      // digits, the first not a 0 unless alone (JSON's grammar), at most 15 (exact as a double)
      while (c >= 48 && c <= 57 && end - at <= 16) c = text.charCodeAt(--at)
      const start = at + 1
      if (c === 58 && end - start <= 15 && text.startsWith(DEADLINE, start - DEADLINE.length)) {
        if (text.charCodeAt(start) === 48 && end - start > 1) return undefined
        let value = 0
        for (let i = start; i < end; i++) value = value * 10 + (text.charCodeAt(i) - 48)
        deadline = value
        end = start - DEADLINE.length
      }
    }
    let traceparent: string | undefined
    let correlationId: string | undefined
    if (text.charCodeAt(end - 1) === 34) {
      // "
      const start = end - 1 - TRACEPARENT_LENGTH
      if (text.startsWith(TRACEPARENT, start - TRACEPARENT.length)) {
        traceparent = text.slice(start, end - 1)
        if (!Envelope.isTraceparent(traceparent)) return undefined
        end = start - TRACEPARENT.length
      }
    }
    if (text.charCodeAt(end - 1) === 34) {
      // (else the payload's string)
      const start = plainStart(text, end - 1)
      if (start >= 0 && text.startsWith(CORRELATION_ID, start - CORRELATION_ID.length)) {
        // a short one copied; a longer one made by JSON.parse (a slice would keep the frame's text alive with it)
        correlationId =
          end - 1 - start <= SHORT_ID ? text.slice(start, end - 1) : (JSON.parse(text.slice(start - 1, end)) as string)
        end = start - CORRELATION_ID.length
      }
    }
    let from: ActorAddress | undefined
    if (text.charCodeAt(end - 1) === 125) {
      // }: the sender's address, or the payload's end
      const sender = senderBefore(head, text, end)
      if (sender !== undefined) {
        from = sender.from
        end -= sender.text.length
      }
    }
    const payloadStart = pos + head.text.length
    if (end <= payloadStart) return undefined
    let value: Envelope.Envelope["payload"]
    try {
      value = JSON.parse(text.slice(payloadStart, end))
    } catch {
      return undefined // not one JSON value: a sender not learned yet, another field, or not JSON at all
    }
    // nested deeper than an envelope may be only with two brackets per level (else checked as any envelope)
    this.vouched = end - payloadStart <= 2 * Envelope.MAX_PAYLOAD_DEPTH + 1
    const kind = head.kind
    const to = head.to
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
      kind,
      to,
      payload: value
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
      head = { text: headText, kind, to: address(e.to as ActorAddress), senders: [] }
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

/** The sender of `head` whose text ends at `end`. */
const senderBefore = (head: RequestHead, text: string, end: number): Sender | undefined => {
  const senders = head.senders
  for (let i = 0; i < senders.length; i++) {
    const sender = senders[i]!
    if (text.startsWith(sender.text, end - sender.text.length)) return sender
  }
  return undefined
}

/**
 * Where the string whose closing quote is at `close` starts (after its opening quote) when it is at most
 * {@link LONG_ID} characters without an escape or a control character (`JSON.parse` refuses those); -1 for any other.
 */
const plainStart = (text: string, close: number): number => {
  for (let i = close - 1; i >= close - 1 - LONG_ID && i >= 0; i--) {
    const c = text.charCodeAt(i)
    if (c === 34) return i + 1
    if (!(c >= 32) || c === 92) return -1
  }
  return -1
}
