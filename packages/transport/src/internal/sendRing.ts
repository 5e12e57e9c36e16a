/**
 * A link's resend buffer: the envelopes the peer has not acknowledged, by sequence number, as the UTF-8 bytes of
 * their JSON, each followed by a comma, written one after the other into chunks of bytes when they are put. A
 * `data` frame of consecutive envelopes is then its head, one copy per run of them in a chunk, and `]}` (the last
 * comma becomes the bracket). The slots start small and double as envelopes wait for acks, up to the capacity, and
 * so do the chunks, up to `CHUNK` (a bigger envelope gets a chunk of its own), so an idle peer costs little.
 *
 * An envelope is written in two steps: `writeJson` (its JSON, or a templated envelope's payload's JSON between its
 * template's bytes) or `writePayload` (a templated envelope whose payload a {@link Envelope.PayloadWriter} writes
 * straight into the chunk: no string is made) writes it after the last one put, then `put` makes it envelope
 * `seq`; until then nothing is kept, so a send refused after writing (too large, no room in the window) costs
 * nothing but the bytes written.
 */
import type * as Envelope from "../Envelope.ts"
import { FrameArena, type Writes } from "./frameArena.ts"

/** The slots' first count; they double as needed up to the capacity. */
const RING_START = 16
/** The first chunk's bytes; chunks double up to `CHUNK`. */
const CHUNK_START = 4096
const CHUNK = 256 * 1024
/**
 * Emptied chunks kept for reuse: enough for a window of small envelopes to cycle without allocating (fresh memory:
 * the kernel's page faults). Kept while the link sends; dropped once it put nothing between two `trim`s.
 */
const SPARES = 4
/** Frames of at least this many bytes are written into the link's frame arena; smaller ones come from Node's pool. */
const FRAME_ARENA_MIN = 4 * 1024

const COMMA = 0x2c
const ZERO = 0x30
/** A data frame's head (see `Frame.encodeData`) around its two counts, as bytes. */
const DATA_ACK = Buffer.from('{"type":"data","ack":', "latin1")
const FIRST = Buffer.from(',"first":', "latin1")
const ENVELOPES = Buffer.from(',"envelopes":[', "latin1")
const HEAD_BYTES = DATA_ACK.length + FIRST.length + ENVELOPES.length
const CLOSE_BRACKET = 0x5d
const CLOSE_BRACE = 0x7d

/**
 * @example
 * ```ts
 * const ring = new SendRing(8192)
 * ring.writeJson('{"_tag":"Tick","n":1}', 21, template)
 * ring.put(1, 0, template.bytes + 21)
 * const frame = ring.frame(0, 1, 1, ring.size(1) + 1)
 * ```
 */
export class SendRing {
  /** Per slot: the chunk holding the envelope's bytes, where they start there, and how many (without the comma). */
  private chunks: Array<Buffer | undefined> = new Array(RING_START).fill(undefined)
  private starts: Array<number> = new Array(RING_START).fill(0)
  private sizes: Array<number> = new Array(RING_START).fill(0)
  private readonly capacity: number
  /** The chunk the next envelope is written into, from `used` on. */
  private chunk: Buffer = Buffer.alloc(0)
  private used = 0
  /** Chunks of the largest size whose envelopes were all acknowledged, for the next chunks (at most `SPARES`). */
  private spares: Array<Buffer> = []
  /** The last envelope put. */
  private last = 0
  /** Bytes of all envelopes ever put (each with its comma), and of those freed: what is held is the difference. */
  private total = 0
  private freedTotal = 0
  /** Per slot: `total` once its envelope was put (so freeing up to it needs no loop over the sizes). */
  private totals: Array<number> = new Array(RING_START).fill(0)
  /** The chunks `free` emptied (see `freeSlots`), for a moment. */
  private readonly left: Array<Buffer | undefined> = []
  /** Where frames are written (see `frame`). */
  private readonly arena = new FrameArena()
  /** `last` at the last `trim`. */
  private trimmed = 0

  constructor(capacity: number) {
    this.capacity = capacity
  }

  /**
   * Writes an envelope's JSON (`bytes` in all): with a template, `json` is its payload's, written between the
   * template's bytes.
   */
  writeJson(json: string, bytes: number, template: Envelope.Template | undefined): void {
    if (this.chunk.length - this.used < bytes + 1) this.nextChunk(bytes + 1)
    const chunk = this.chunk
    let at = this.used
    if (template !== undefined) at = copy(template.headBytes, chunk, at)
    // ASCII (its UTF-8 bytes are its length; any other character takes more bytes than code units): as Latin-1
    const text = template === undefined ? bytes : bytes - template.bytes
    at += chunk.write(json, at, text, text === json.length ? "latin1" : "utf8")
    if (template !== undefined) at = copy(template.tailBytes, chunk, at)
    chunk[at] = COMMA
  }

  /**
   * Writes a templated envelope whose payload `write` writes (see {@link Envelope.PayloadWriter}); returns its
   * bytes, or -1 when `write` declined it (or it does not fit in a chunk of its own): encode it otherwise.
   */
  writePayload(template: Envelope.Template, payload: Envelope.Envelope["payload"], write: Envelope.PayloadWriter) {
    // room for the template and a short payload here, or a new chunk; one more chunk if the payload is longer
    const fixed = template.bytes + 1
    let fresh = false
    if (this.chunk.length - this.used < fixed + 64) {
      this.nextChunk(fixed + 64)
      fresh = true
    }
    for (;;) {
      const chunk = this.chunk
      const start = this.used
      const end = write(
        payload,
        chunk,
        start + template.headBytes.length,
        chunk.length - fixed + template.headBytes.length
      )
      if (end >= 0) {
        copy(template.headBytes, chunk, start)
        chunk[copy(template.tailBytes, chunk, end)] = COMMA
        return end + template.tailBytes.length - start
      }
      if (end !== -1 || fresh) return -1
      this.nextChunk(CHUNK)
      fresh = true
    }
  }

  /** The payload's JSON of the envelope `writePayload` wrote last and was not put (`bytes` of it, with `template`'s). */
  written(template: Envelope.Template, bytes: number): string {
    const start = this.used + template.headBytes.length
    return this.chunk.toString("utf8", start, start + bytes - template.bytes)
  }

  /** Makes the envelope written last (`bytes` of it) envelope `seq` (`acked`: the last acknowledged). */
  put(seq: number, acked: number, bytes: number): void {
    if (seq - 1 - acked >= this.chunks.length) this.grow(acked, seq - 1)
    const index = seq % this.chunks.length
    this.chunks[index] = this.chunk
    this.starts[index] = this.used
    this.sizes[index] = bytes
    this.used += bytes + 1
    this.total += bytes + 1
    this.totals[index] = this.total
    this.last = seq
  }

  /** Bytes of the envelopes put and not freed, each with its comma (see the link's byte budget). */
  get held(): number {
    return this.total - this.freedTotal
  }

  /** The bytes of envelope `seq`'s JSON. */
  size(seq: number): number {
    return this.sizes[seq % this.chunks.length]!
  }

  /** Envelope `seq`'s whole JSON. */
  jsonOf(seq: number): string {
    const index = seq % this.chunks.length
    return this.chunks[index]!.toString("utf8", this.starts[index]!, this.starts[index]! + this.sizes[index]!)
  }

  /**
   * Frees the slots of envelopes `from` to `to` (acknowledged; all before `from` were), and keeps the chunks they
   * emptied for reuse. Once all are acknowledged, the chunk being written is written again from its start, and no
   * spare is kept (an idle link holds one chunk).
   */
  free(from: number, to: number): void {
    // a chunk holds consecutive envelopes: one that ends by `to` is empty, unless it is still being written
    const next = to === this.last ? undefined : this.chunks[(to + 1) % this.chunks.length]
    this.freedTotal = this.totals[to % this.chunks.length]!
    const run = this.freeSlots(from, to)
    const left = this.left
    for (let i = 0; i < left.length; i++) {
      const chunk = left[i]
      if (chunk !== undefined) this.keep(chunk)
    }
    left.length = 0
    if (run !== undefined && run !== next) this.keep(run)
    if (to === this.last) this.used = 0
  }

  /**
   * Called now and then (each heartbeat): a ring that put nothing since the last call keeps no spare chunk and no
   * frame store (an idle link holds one chunk).
   */
  trim(): void {
    if (this.last === this.trimmed) {
      this.spares = []
      this.arena.clear()
    }
    this.trimmed = this.last
  }

  /**
   * Empties the slots of envelopes `from` to `to`; returns the last one's chunk, and puts in `left` the chunks
   * before it (after an `undefined`). Nothing but the loop: V8 compiles a long loop on stack during its first run (an
   * ack frees thousands), and code that had not run by then (no type feedback: a call past the loop, a chunk change
   * the first ack did not see) would deoptimize that compiled loop there, again at every later call.
   */
  private freeSlots(from: number, to: number): Buffer | undefined {
    const chunks = this.chunks
    const length = chunks.length
    const left = this.left
    let run: Buffer | undefined
    for (let seq = from; seq <= to; seq++) {
      const chunk = chunks[seq % length]
      if (chunk !== run) {
        left.push(run) // the first time, undefined: the push has run before V8 compiles the loop
        run = chunk
      }
      chunks[seq % length] = undefined
    }
    return run
  }

  private keep(chunk: Buffer): void {
    if (chunk !== this.chunk && chunk.length === CHUNK && this.spares.length < SPARES) this.spares.push(chunk)
  }

  /** Frees every slot and chunk. */
  clear(): void {
    this.chunks.fill(undefined)
    this.freedTotal = this.total
    this.chunk = Buffer.alloc(0)
    this.used = 0
    this.spares = []
    this.arena.clear()
  }

  /**
   * The `data` frame of envelopes `first` to `last` (`size`: their bytes plus one each), written straight
   * into one buffer: the same bytes as `Frame.encodeData`, one copy per run of envelopes in one chunk.
   *
   * With `writes` (the connection it is handed to at once, as its next write), a frame of a few KiB or more goes into
   * the ring's frame arena: memory written over and over once its frames were written out (see frameArena.ts), so
   * that a link streaming frames does not allocate each. Without, or smaller, a new buffer.
   *
   * With `room`, the frame starts `room` bytes into the buffer returned, the bytes before it left for the wire's
   * header (see `Wire.headerRoom`): the wire writes it there, and sends the frame with no copy.
   */
  frame(ack: number, first: number, last: number, size: number, writes?: Writes, room = 0): Buffer {
    // the head `{"type":"data","ack":<ack>,"first":<first>,"envelopes":[` written as bytes: no string per frame
    const ackDigits = digits(ack)
    const firstDigits = digits(first)
    const bytes = room + HEAD_BYTES + ackDigits + firstDigits + size + 1
    const frame =
      writes !== undefined && bytes >= FRAME_ARENA_MIN ? this.arena.take(bytes, writes) : Buffer.allocUnsafe(bytes)
    let at = copy(DATA_ACK, frame, room)
    at = writeCount(frame, at, ack, ackDigits)
    at = copy(FIRST, frame, at)
    at = writeCount(frame, at, first, firstDigits)
    at = copy(ENVELOPES, frame, at)
    const capacity = this.chunks.length
    let seq = first
    while (seq <= last) {
      let index = seq % capacity
      const chunk = this.chunks[index]!
      const start = this.starts[index]!
      let end = start + this.sizes[index]! + 1
      while (++seq <= last) {
        index = seq % capacity
        if (this.chunks[index] !== chunk || this.starts[index] !== end) break
        end += this.sizes[index]! + 1
      }
      at += chunk.copy(frame, at, start, end)
    }
    // the last envelope's comma becomes the closing bracket
    frame[at - 1] = CLOSE_BRACKET
    frame[at] = CLOSE_BRACE
    return frame
  }

  /** Moves on to a chunk of at least `bytes`: twice the last one's size, up to `CHUNK` (a spare one if it has). */
  private nextChunk(bytes: number): void {
    const size = Math.max(bytes, Math.min(CHUNK, Math.max(CHUNK_START, this.chunk.length * 2)))
    const spare = size <= CHUNK ? this.spares.pop() : undefined
    this.chunk = spare ?? Buffer.allocUnsafeSlow(size)
    this.used = 0
  }

  /** Doubles the slots (up to the capacity), moving envelopes `acked + 1` to `last` to their new slots. */
  private grow(acked: number, last: number): void {
    const length = Math.min(this.capacity, this.chunks.length * 2)
    const chunks: Array<Buffer | undefined> = new Array(length).fill(undefined)
    const starts: Array<number> = new Array(length).fill(0)
    const sizes: Array<number> = new Array(length).fill(0)
    const totals: Array<number> = new Array(length).fill(0)
    for (let seq = acked + 1; seq <= last; seq++) {
      totals[seq % length] = this.totals[seq % this.chunks.length]!
      chunks[seq % length] = this.chunks[seq % this.chunks.length]
      starts[seq % length] = this.starts[seq % this.chunks.length]!
      sizes[seq % length] = this.sizes[seq % this.chunks.length]!
    }
    this.chunks = chunks
    this.starts = starts
    this.sizes = sizes
    this.totals = totals
  }
}

/** How many decimal digits a count (a non-negative safe integer) takes. */
const digits = (n: number): number => {
  let count = 1
  while (n >= 10) {
    n = Math.floor(n / 10)
    count++
  }
  return count
}

/** Writes count `n` (`count` digits of it, see {@link digits}) in decimal at `at`; returns where it ends. */
const writeCount = (into: Uint8Array, at: number, n: number, count: number): number => {
  const end = at + count
  for (let i = end - 1; i >= at; i--) {
    const next = Math.floor(n / 10)
    into[i] = ZERO + (n - next * 10)
    n = next
  }
  return end
}

/** Copies `bytes` into `into` at `at`; returns where they end (a loop for up to 4 bytes: cheaper than a call to `set`). */
const copy = (bytes: Uint8Array, into: Uint8Array, at: number): number => {
  const length = bytes.length
  if (length > 4) into.set(bytes, at)
  else for (let i = 0; i < length; i++) into[at + i] = bytes[i]!
  return at + length
}
