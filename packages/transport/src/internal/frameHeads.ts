/**
 * The heads and tails a connection's frame decoder keeps (see `frameDecoder.ts`): an envelope's JSON before its
 * payload (`{"kind":K,"to":T,"payload":`) and after it (`}` or `,"from":F}`), learned from envelopes parsed whole
 * when they are the text `Envelope.make` writes for their fields, with what they mean, so that the next envelopes
 * of a sender have only their payload parsed.
 *
 * A head is learned on its second sight (a table of hashes remembers the first), and forgetting the oldest head
 * when 256 are kept costs a few steps: a burst of sessions sends each reply to its own coordinator, one or two
 * envelopes per head, and learning each such head, then forgetting one by looking at every kept head's joint, cost
 * several times the envelope's own parse (5-6 us per envelope against about 1 for `JSON.parse` of its frame;
 * 1.1-1.4 us now: `bench/probes/heads-burst.ts`).
 *
 * @example
 * ```ts
 * const heads = new Heads()
 * heads.learn(text, pos, end, JSON.parse(text.slice(pos, end + 1))) // undefined: seen once
 * const head = heads.learn(text, pos, end, JSON.parse(text.slice(pos, end + 1))) // kept, with heads.tail
 * heads.at(text, next) // that head again where the next envelope starts with it
 * ```
 */
import type { ActorAddress } from "../ActorAddress.ts"
import * as Envelope from "../Envelope.ts"

export const PAYLOAD = ',"payload":'

/**
 * Heads kept per connection, tails per head (a sender each), and the longest head or tail kept: what a peer can
 * make a connection keep is bounded (about 3 MB at most, with the forgotten heads joints may lead to until the next
 * sweep; a few KB for a few actors).
 */
const HEADS = 256
const TAILS = 16
const LONGEST = 512
/**
 * Forgotten heads wait for this many more before the joints to them are cleared, in one pass over the heads kept:
 * a head learned when all are kept costs a few steps, not one per head kept.
 */
const SWEEP = 64
/**
 * The heads seen once, not learned yet (hashes of their text; a slot holds one: see {@link Heads.learn}); 1 KB, made
 * when a connection first parses an envelope whose head it does not keep.
 */
const SEEN = 256

/** An envelope's JSON after its payload: `}`, or the sender's address and `}`. */
export interface Tail {
  readonly text: string
  readonly from: ActorAddress | undefined
  /** Whether its head, it and any JSON payload make a valid envelope (checked once, when it is learned). */
  readonly valid: boolean
}

/** An envelope's JSON before its payload, and what it means. */
export interface Head {
  readonly text: string
  readonly kind: string
  readonly to: ActorAddress
  /** The tails seen after this head, longest first (so `}` is tried after those that also end in `}`). */
  readonly tails: Array<Tail>
  /** The text seen last between this head's payload and the next envelope's: one comparison checks both. */
  joint: Joint | undefined
  /** Payloads left to `JSON.parse` (after the reader declined one), and how many the next decline leaves. */
  skip: number
  penalty: number
}

/** A tail, `,` and the next envelope's head, as one text. */
export interface Joint {
  readonly text: string
  readonly tail: Tail
  readonly next: Head
}

type Mutable = { [key: string]: unknown }

export const address = (a: Mutable | ActorAddress): ActorAddress =>
  Object.freeze({ node: a.node, path: a.path }) as ActorAddress
export const addressJson = (a: ActorAddress): string =>
  `{"node":${JSON.stringify(a.node)},"path":${JSON.stringify(a.path)}}`
export const isAddress = (u: unknown): u is Mutable => {
  if (typeof u !== "object" || u === null) return false
  const keys = Object.keys(u)
  const a = u as Mutable
  return (
    keys.length === 2 &&
    keys[0] === "node" &&
    keys[1] === "path" &&
    typeof a.node === "string" &&
    typeof a.path === "string"
  )
}

/** Whether `text` holds `piece` at `pos` (`startsWith` compares character by character: twice as slow for a head). */
export const isAt = (text: string, piece: string, pos: number): boolean =>
  text.substring(pos, pos + piece.length) === piece

/** A connection's heads and tails (see the module's doc). */
export class Heads {
  private readonly byText = new Map<string, Head>()
  private last: Head | undefined = undefined
  /** Forgotten heads that kept heads' joints may still lead to (cleared by the next sweep). */
  private readonly forgotten = new Set<Head>()
  /** The hashes of heads seen once (a slot per hash's low bits; 0: empty). */
  private seen: Int32Array | undefined = undefined
  /** Heads whose joints a sweep looked at (for tests: the work of forgetting, per head forgotten). */
  swept = 0
  /** Heads forgotten (for tests). */
  forgets = 0

  /** The heads and tails kept (for tests). */
  get kept(): number {
    let kept = 0
    for (const head of this.byText.values()) kept += 1 + head.tails.length
    return kept
  }

  /** The known head at `pos`: the last one used, else looked up by its text. */
  at(text: string, pos: number): Head | undefined {
    const last = this.last
    if (last !== undefined && isAt(text, last.text, pos)) return last
    if (this.byText.size === 0) return undefined // a connection that carried only asks and replies so far
    // no head is longer than LONGEST: the search stops there (a frame of envelopes without a payload is not O(n²))
    const start = text.substring(pos, pos + LONGEST)
    const at = start.indexOf(PAYLOAD)
    if (at < 0) return undefined
    const head = this.byText.get(start.slice(0, at + PAYLOAD.length))
    if (head !== undefined) this.last = head
    return head
  }

  /** The tail {@link learn} found last. */
  tail: Tail = { text: "}", from: undefined, valid: false }

  /**
   * An envelope parsed whole from `text[pos, end]`: its head (returned) and tail (in `this.tail`) are kept for
   * the next ones when they are the text `Envelope.make` writes for its fields (`kind`, `to`, `payload` and maybe
   * `from`, in that order) and the head was seen before (or is kept: a new tail of it); undefined for any other
   * value, and for a head seen the first time.
   */
  learn(text: string, pos: number, end: number, value: unknown): Head | undefined {
    if (typeof value !== "object" || value === null) return undefined
    const e = value as Mutable
    const keys = Object.keys(e)
    const withFrom = keys.length === 4 && keys[3] === "from"
    if (
      !(keys.length === 3 || withFrom) ||
      keys[0] !== "kind" ||
      keys[1] !== "to" ||
      keys[2] !== "payload" ||
      typeof e.kind !== "string" ||
      !isAddress(e.to) ||
      (withFrom && !isAddress(e.from))
    ) {
      return undefined
    }
    if (!this.secondSight(text, pos, end)) return undefined
    const headText = `{"kind":${JSON.stringify(e.kind)},"to":${addressJson(e.to as ActorAddress)}${PAYLOAD}`
    const tailText = withFrom ? `,"from":${addressJson(e.from as ActorAddress)}}` : "}"
    // kept only if the sender wrote them so (not, say, with other escapes): only then will they match again
    if (
      headText.length > LONGEST ||
      tailText.length > LONGEST ||
      !text.startsWith(headText, pos) ||
      !text.startsWith(tailText, end + 1 - tailText.length)
    )
      return undefined
    let head = this.byText.get(headText)
    if (head === undefined) {
      if (this.byText.size >= HEADS) this.forget()
      head = { text: headText, kind: e.kind, to: address(e.to), tails: [], joint: undefined, skip: 0, penalty: 1 }
      this.byText.set(headText, head)
    }
    this.last = head
    let tail = head.tails.find((t) => t.text === tailText)
    if (tail === undefined) {
      if (head.tails.length >= TAILS) head.tails.pop()
      const from = withFrom ? address(e.from as Mutable) : undefined
      const fields = { kind: head.kind, to: head.to, payload: null }
      tail = { text: tailText, from, valid: Envelope.isEnvelope(from === undefined ? fields : { ...fields, from }) }
      head.tails.push(tail)
      head.tails.sort((a, b) => b.text.length - a.text.length)
    }
    this.tail = tail
    return head
  }

  /**
   * Whether the head at `pos` (of an envelope ending at `end`) was seen before and is not kept: a head is learned on
   * its second sight. A burst of sessions sends each reply to its own coordinator, one envelope per head: learning
   * each (its texts made, its tail checked, the oldest head forgotten) cost more than its parse.
   */
  private secondSight(text: string, pos: number, end: number): boolean {
    const cut = text.indexOf(PAYLOAD, pos)
    if (cut < 0 || cut > end || cut - pos > LONGEST) return true // not a head this decoder keeps: learn says so
    if (this.byText.has(text.slice(pos, cut + PAYLOAD.length))) return true // a head kept: a new tail of it
    let hash = 0x811c9dc5
    for (let i = pos; i < cut; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
    hash |= 1 // never 0, an empty slot
    const slot = hash & (SEEN - 1)
    const seen = (this.seen ??= new Int32Array(SEEN))
    if (seen[slot] === hash) {
      seen[slot] = 0
      return true
    }
    seen[slot] = hash
    return false
  }

  /**
   * Forgets the oldest head. Joints to it are cleared by a sweep once {@link SWEEP} heads were forgotten: until
   * then a joint may still lead to it, which is right (a head's text means what it meant), and what a peer can make
   * a connection keep stays bounded (joints are made only to heads kept, so a forgotten head a joint leads to was
   * forgotten since the last sweep).
   */
  private forget(): void {
    const [text, oldest] = this.byText.entries().next().value as [string, Head]
    this.byText.delete(text)
    this.forgets++
    if (this.last === oldest) this.last = undefined
    const forgotten = this.forgotten
    forgotten.add(oldest)
    if (forgotten.size < SWEEP) return
    for (const head of this.byText.values()) {
      this.swept++
      const joint = head.joint
      if (joint !== undefined && forgotten.has(joint.next)) head.joint = undefined
    }
    forgotten.clear()
  }
}

/**
 * The tail of `head` at `at` that ends its envelope: followed by `,` (the next envelope's) or by the frame's `]}`
 * (its last envelope's `}` at `last`).
 */
export const tailAt = (head: Head, text: string, at: number, last: number): Tail | undefined => {
  for (const tail of head.tails) {
    if (!isAt(text, tail.text, at)) continue
    const end = at + tail.text.length - 1
    if (end === last || text.charCodeAt(end + 1) === 44) return tail
  }
  return undefined
}

/** The envelope of a head, a tail and a payload, numbered (`seq` in the literal, where the inbound side puts it). */
export const make = (head: Head, tail: Tail, payload: unknown, seq: number): unknown =>
  tail.from === undefined
    ? { kind: head.kind, to: head.to, payload, seq }
    : { kind: head.kind, to: head.to, payload, from: tail.from, seq }
