/**
 * A link's resend buffer: the envelopes the peer has not acknowledged, by sequence number, as JSON (or, for a
 * templated envelope, its payload's JSON and its template), with their bytes. It starts small and doubles as
 * envelopes wait for acks, up to the capacity, so an idle peer costs little; it writes `data` frames straight
 * from its slots.
 */
import type * as Envelope from "../Envelope.ts"

/** The ring's first size; it doubles as needed up to the capacity. */
const RING_START = 16

const COMMA = 0x2c
const CLOSE_BRACKET = 0x5d
const CLOSE_BRACE = 0x7d

/**
 * Writes `json` (of `bytes` UTF-8 bytes) at `at`: as Latin-1 when it is ASCII (its UTF-8 bytes are then its
 * length, and any other character takes more bytes than code units), which skips UTF-8 encoding.
 */
const write = (frame: Buffer, json: string, bytes: number, at: number): number =>
  bytes === json.length ? frame.write(json, at, "latin1") : frame.write(json, at, "utf8")

/**
 * @example
 * ```ts
 * const ring = new SendRing(8192)
 * ring.put(1, 0, '{"_tag":"Tick","n":1}', 21, template)
 * const frame = ring.frame(0, 1, 1, ring.size(1) + 1)
 * ```
 */
export class SendRing {
  private json: Array<string | undefined> = new Array(RING_START).fill(undefined)
  private sizes: Array<number> = new Array(RING_START).fill(0)
  /** An envelope's template when it has one: its slot then holds its payload's JSON only (see `frame`). */
  private templates: Array<Envelope.Template | undefined> = new Array(RING_START).fill(undefined)
  private readonly capacity: number

  constructor(capacity: number) {
    this.capacity = capacity
  }

  /** Puts envelope `seq` in its slot (`acked`: the last acknowledged, whose successors the ring holds). */
  put(seq: number, acked: number, json: string, bytes: number, template: Envelope.Template | undefined): void {
    if (seq - 1 - acked >= this.json.length) this.grow(acked, seq - 1)
    const index = seq % this.json.length
    this.json[index] = json
    this.sizes[index] = bytes
    this.templates[index] = template
  }

  /** The bytes of envelope `seq`'s JSON. */
  size(seq: number): number {
    return this.sizes[seq % this.json.length]!
  }

  /** Envelope `seq`'s whole JSON. */
  jsonOf(seq: number): string {
    const index = seq % this.json.length
    const template = this.templates[index]
    const json = this.json[index]!
    return template === undefined ? json : template.head + json + template.tail
  }

  /** Frees the slots of envelopes `from` to `to` (acknowledged). */
  free(from: number, to: number): void {
    const length = this.json.length
    for (let seq = from; seq <= to; seq++) {
      this.json[seq % length] = undefined
      this.templates[seq % length] = undefined
    }
  }

  /** Frees every slot. */
  clear(): void {
    this.json.fill(undefined)
    this.templates.fill(undefined)
  }

  /**
   * The `data` frame of envelopes `first` to `last` (`size`: their bytes plus one each), written straight
   * into one buffer: the same bytes as `Frame.encodeData`, without joining the envelopes into a string first
   * (a templated envelope's JSON is never made: its template's bytes are copied around its payload's JSON, and
   * between two payloads of one template its tail, the comma and its head are one copy).
   */
  frame(ack: number, first: number, last: number, size: number): Buffer {
    const head = `{"type":"data","ack":${ack},"first":${first},"envelopes":[`
    const frame = Buffer.allocUnsafe(head.length + size + 1)
    let at = frame.write(head, 0, "latin1")
    const capacity = this.json.length
    // the template whose tail is still to be written
    let open: Envelope.Template | undefined
    for (let seq = first; seq <= last; seq++) {
      const index = seq % capacity
      const template = this.templates[index]
      const json = this.json[index]!
      if (template !== undefined && template === open) {
        frame.set(template.jointBytes, at)
        at += template.jointBytes.length
      } else {
        if (open !== undefined) {
          frame.set(open.tailBytes, at)
          at += open.tailBytes.length
        }
        if (seq > first) frame[at++] = COMMA
        if (template !== undefined) {
          frame.set(template.headBytes, at)
          at += template.headBytes.length
        }
      }
      at += write(frame, json, template === undefined ? this.sizes[index]! : this.sizes[index]! - template.bytes, at)
      open = template
    }
    if (open !== undefined) {
      frame.set(open.tailBytes, at)
      at += open.tailBytes.length
    }
    frame[at++] = CLOSE_BRACKET
    frame[at] = CLOSE_BRACE
    return frame
  }

  /** Doubles the ring (up to the capacity), moving envelopes `acked + 1` to `last` to their new slots. */
  private grow(acked: number, last: number): void {
    const length = Math.min(this.capacity, this.json.length * 2)
    const json: Array<string | undefined> = new Array(length).fill(undefined)
    const sizes: Array<number> = new Array(length).fill(0)
    const templates: Array<Envelope.Template | undefined> = new Array(length).fill(undefined)
    for (let seq = acked + 1; seq <= last; seq++) {
      json[seq % length] = this.json[seq % this.json.length]
      sizes[seq % length] = this.sizes[seq % this.json.length]!
      templates[seq % length] = this.templates[seq % this.json.length]
    }
    this.json = json
    this.sizes = sizes
    this.templates = templates
  }
}
