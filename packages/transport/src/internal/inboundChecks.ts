/**
 * What the receiving side refuses (see `inbound.ts`): a frame whose values exceed `maxEnvelopeValues`, counted before
 * it is parsed, and an envelope that is not valid or not for this node, each with the error frame that says why.
 *
 * @example
 * ```ts
 * const checked = checkValues(engine, connection, data) // undefined: refused; else the bytes to parse
 * const { code, problem } = rejection(engine, value, undefined) // "bad-envelope" or "misaddressed", and why
 * ```
 */
import { Result } from "effect"
import * as Envelope from "../Envelope.ts"
import type * as Frame from "../Frame.ts"
import type { Connection } from "./connection.ts"
import type { Engine } from "./engine.ts"
import { scanFrame, type Wide } from "./jsonValues.ts"

const NULL = Buffer.from("null")

/**
 * A frame's bytes larger than a batch of envelopes (one envelope larger than a frame of them), counted before they
 * are parsed: undefined (refused with a `bad-frame` error) when the frame's own values exceed `maxEnvelopeValues`,
 * else the bytes to parse, each envelope over the limit replaced by `null` (refused with a `bad-envelope` error
 * when its turn comes in `onData`, and acknowledged: the rest of the frame is delivered and the link goes on).
 * Its widest envelope's values are told to the failure detector: a peer that sends such envelopes stalls while it
 * encodes each (see `Detector.sent`).
 */
export const checkValues = (
  engine: Engine,
  connection: Connection,
  data: Buffer
): { readonly data: Buffer; readonly wide: ReadonlyArray<Wide> | undefined } | undefined => {
  const limit = engine.options.maxEnvelopeValues
  const scan = scanFrame(data, limit)
  const link = connection.link
  if (link !== undefined && scan.widest > 0) engine.detector.sent(link, Math.min(scan.widest, limit))
  if (scan.rest > limit) {
    engine.badFrame(connection, "bad-frame", "", `a frame of ${scan.rest} JSON values; at most ${limit}`)
    return undefined
  }
  if (scan.wide.length === 0) return { data, wide: undefined }
  const pieces: Array<Uint8Array> = []
  let at = 0
  for (const w of scan.wide) {
    pieces.push(data.subarray(at, w.start), NULL)
    at = w.end
  }
  pieces.push(data.subarray(at))
  return { data: Buffer.concat(pieces), wide: scan.wide }
}

/** Why the envelope `value` is refused (`wide`: it was over `maxEnvelopeValues`, not parsed), and the error's code. */
export const rejection = (
  engine: Engine,
  value: unknown,
  wide: Wide | undefined
): { readonly code: Frame.ErrorCode; readonly problem: Envelope.Problem } => {
  if (wide !== undefined) {
    const limit = engine.options.maxEnvelopeValues
    return {
      code: "bad-envelope",
      problem: {
        field: "payload",
        message:
          `${wide.values} JSON values exceed this node's limit of ${limit} per envelope (maxEnvelopeValues); ` +
          "the envelope was not parsed: send the data in parts, or give every node the same maxEnvelopeValues"
      }
    }
  }
  let problem: Envelope.Problem
  try {
    const decoded = Envelope.decode(value)
    problem = Result.isFailure(decoded)
      ? decoded.failure
      : { field: "to.node", message: `addressed to node ${decoded.success.to.node}, not ${engine.options.node}` }
  } catch (error) {
    problem = { field: "", message: `undecodable envelope: ${String(error)}` }
  }
  const code = problem.field === "to.node" && problem.message.startsWith("addressed") ? "misaddressed" : "bad-envelope"
  return { code, problem }
}
