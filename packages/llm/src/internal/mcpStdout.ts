/**
 * The stdout of an MCP server over stdio, with the lines that are not MCP messages left out and each message
 * bounded in size.
 *
 * - Servers write logs there (a `console.log` in a tool), which the protocol forbids but the official SDK's
 *   client skips; `effect/ai`'s client closes the connection for good at the first one. Each line that does not
 *   start with `{` (after blanks) is dropped, with a warning naming the server and the start of the line.
 * - A message longer than `maxBytes` (a 60 MB tool result) is not held: its bytes are counted and let go as they
 *   come, and in its place the client gets a JSON-RPC error answer to the same request id (code
 *   {@link TOO_LARGE_CODE}), so that one call fails and the connection goes on serving the others. (`effect/ai`'s
 *   client would read the whole line, scanning its buffer again for each chunk, then close the connection.)
 *   A message too large whose id cannot be found (a notification) is dropped with a warning.
 *
 * Message lines pass whole, each held until its end (at most `maxBytes`). Only bytes are scanned: a line let go is
 * never decoded but for its first and last 200 bytes.
 */
import { Effect, Layer, Stream } from "effect"
import { ChildProcessSpawner } from "effect/process"

/** The JSON-RPC error code of the answer that stands for a message too large (in the range servers may use). */
export const TOO_LARGE_CODE = -32099

/** A message that was over the bound: its request id (its JSON text), if found, and its size in bytes. */
export interface TooLarge {
  readonly id: string | undefined
  readonly bytes: number
  readonly start: string
}

type Line = "start" | "keep" | "drop" | "over"

/** The id of a JSON-RPC message, as JSON text, from its first or last characters. */
const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`
const idAtStart = new RegExp(String.raw`^\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}`)
const idAtEnd = new RegExp(String.raw`"id"\s*:\s*${ID}\s*(?:,\s*"jsonrpc"\s*:\s*"2\.0"\s*)?\}\s*$`)
const idOf = (start: string, end: string): string | undefined => idAtStart.exec(start)?.[1] ?? idAtEnd.exec(end)?.[1]

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const NEWLINE = 0x0a
const SPACE = 0x20
const TAB = 0x09
const RETURN = 0x0d
const OPEN = 0x7b
/** How many bytes of a line are kept to say what it was (a warning, a message's id). */
const KEPT = 200

/** The error answer that stands for a message too large for `maxBytes`, to request `id`. */
export const tooLargeAnswer = (id: string, bytes: number, maxBytes: number): string =>
  `{"jsonrpc":"2.0","id":${id},"error":${JSON.stringify({
    code: TOO_LARGE_CODE,
    message: `the answer is ${bytes} bytes, more than maxResultBytes (${maxBytes})`,
    data: { troupe: "ResultTooLarge", bytes, maxBytes }
  })}}\n`

/** The first `n` bytes of `parts`. */
const firstBytes = (parts: ReadonlyArray<Uint8Array>, n: number): Uint8Array => {
  const out: Array<Uint8Array> = []
  let left = n
  for (const part of parts) {
    if (left <= 0) break
    out.push(part.subarray(0, left))
    left -= part.length
  }
  return Buffer.concat(out)
}

/**
 * Keeps the lines of `bytes` that may be JSON messages, each at most `maxBytes` (see the module); calls `dropped`
 * with the start of each other line, `tooLarge` for each message over the bound. Works on bytes: nothing is
 * decoded but the start and end of a line that is dropped or too large.
 */
export const messagesOnly = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  dropped: (start: string) => Effect.Effect<void>,
  options: {
    readonly maxBytes: number
    readonly tooLarge: (message: TooLarge) => Effect.Effect<void>
  } = { maxBytes: Number.POSITIVE_INFINITY, tooLarge: () => Effect.void }
): Stream.Stream<Uint8Array, E, R> =>
  Stream.suspend(() => {
    const { maxBytes } = options
    let line: Line = "start"
    let blanks: Array<number> = []
    /** The message line so far (`keep`), and its size in bytes. */
    let held: Array<Uint8Array> = []
    let heldBytes = 0
    /** Of a line dropped or over the bound: its first bytes, its last bytes, its size. */
    let head: Array<Uint8Array> = []
    let headBytes = 0
    let tail: Uint8Array = new Uint8Array(0)
    let lineBytes = 0
    return bytes.pipe(
      Stream.mapEffect((chunk) => {
        const out: Array<Uint8Array> = []
        const effects: Array<Effect.Effect<void>> = []
        let at = 0
        while (at < chunk.length) {
          if (line === "start") {
            const byte = chunk[at]!
            if (byte === NEWLINE || byte === SPACE || byte === TAB || byte === RETURN) {
              blanks.push(byte)
              if (byte === NEWLINE) {
                out.push(Uint8Array.from(blanks))
                blanks = []
              }
              at++
              continue
            }
            line = byte === OPEN ? "keep" : "drop"
            held = line === "keep" ? [Uint8Array.from(blanks)] : []
            heldBytes = blanks.length
            blanks = []
            head = []
            headBytes = 0
            lineBytes = 0
            continue
          }
          const end = chunk.indexOf(NEWLINE, at)
          const part = chunk.subarray(at, end < 0 ? chunk.length : end + 1)
          at += part.length
          if (line === "keep" && heldBytes + part.length <= maxBytes + 1) {
            held.push(part)
            heldBytes += part.length
          } else {
            if (line === "keep") {
              // Over the bound: what was held is let go, but for its first bytes.
              head = [firstBytes(held, KEPT)]
              headBytes = head[0]!.length
              lineBytes = heldBytes
              held = []
              line = "over"
            }
            if (headBytes < KEPT) {
              head.push(part.subarray(0, KEPT - headBytes))
              headBytes += Math.min(part.length, KEPT - headBytes)
            }
            lineBytes += part.length
            tail = part.length >= KEPT ? part.subarray(-KEPT) : Buffer.concat([tail, part]).subarray(-KEPT)
          }
          if (end < 0) continue
          if (line === "keep") out.push(...held)
          else {
            const start = decoder.decode(Buffer.concat(head)).trim()
            if (line === "drop") effects.push(dropped(start))
            else {
              const id = idOf(start, decoder.decode(tail))
              const size = lineBytes - 1 - (tail.at(-2) === RETURN ? 1 : 0)
              if (id !== undefined) out.push(encoder.encode(tooLargeAnswer(id, size, maxBytes)))
              effects.push(options.tooLarge({ id, bytes: size, start: start.slice(0, 80) }))
            }
          }
          held = []
          tail = new Uint8Array(0)
          line = "start"
        }
        return Effect.as(Effect.all(effects, { discard: true }), Buffer.concat(out))
      }),
      // A last line without its newline (the stream ended) is passed as it is.
      Stream.concat(Stream.suspend(() => Stream.make(line === "keep" ? Buffer.concat(held) : new Uint8Array(0)))),
      Stream.filter((out) => out.length > 0)
    )
  })

/**
 * A spawner whose processes' stdout carries only what may be MCP messages, each at most `maxBytes` (see the
 * module), over the spawner in context; `server` names the server in the warnings.
 */
export const layer = (server: string, maxBytes: number) =>
  Layer.effect(
    ChildProcessSpawner.ChildProcessSpawner,
    Effect.map(ChildProcessSpawner.ChildProcessSpawner, (spawner) =>
      ChildProcessSpawner.make((command) =>
        Effect.map(spawner.spawn(command), (handle) =>
          ChildProcessSpawner.makeHandle({
            ...handle,
            stdout: messagesOnly(
              handle.stdout,
              (start) =>
                Effect.logWarning(
                  `MCP server ${server} wrote a line that is not MCP to its stdout (skipped): ${start}`
                ),
              {
                maxBytes,
                tooLarge: ({ id, bytes, start }) =>
                  Effect.logWarning(
                    `MCP server ${server} sent a message of ${bytes} bytes, more than maxResultBytes (${maxBytes}): ` +
                      (id === undefined ? `dropped (no request id found): ${start}` : `request ${id} fails`)
                  )
              }
            )
          })
        )
      )
    )
  )
