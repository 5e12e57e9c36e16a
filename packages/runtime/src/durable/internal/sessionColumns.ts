/**
 * The columns of the durable session tables, read back: JSON, a session's spec, the log's chunks. What does
 * not decode throws `StorageCorrupt` naming where it was (the session, the role, the column); `decoding` turns
 * that into the failure of the read.
 */
import { Effect, Exit, Schema } from "effect"
import { issueOf, StorageCorrupt } from "./errors.ts"
import type { Logged } from "./sessionLog.ts"
import type { SessionSpec } from "./sessionStore.ts"

const SpecSchema = Schema.Struct({
  roles: Schema.Record(Schema.String, Schema.Struct({ node: Schema.String, path: Schema.String })),
  stepTimeoutMillis: Schema.Record(Schema.String, Schema.Number),
  traceLimit: Schema.Number,
  deadlineMillis: Schema.Number
})
const decodeSpec = Schema.decodeUnknownExit(SpecSchema)

/** Parses a stored JSON column; what is not JSON throws `StorageCorrupt` naming where it was. */
export const readJson = (text: string, where: string, location: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new StorageCorrupt({ location, detail: `${where} does not decode (not JSON: ${(error as Error).message})` })
  }
}

/** A session's spec, decoded with its schema. */
export const readSpec = (text: string, where: string, location: string): SessionSpec => {
  const exit = decodeSpec(readJson(text, where, location))
  if (Exit.isSuccess(exit)) return exit.value
  throw new StorageCorrupt({ location, detail: `${where} does not decode (${issueOf(exit.cause)})` })
}

/**
 * A chunk of the log: `[seq, label, payload]` triples. Checked by hand rather than with a Schema, as it is read
 * for every role that resumes (a Schema decode of each chunk was an eighth of the time to resume a session);
 * each payload is decoded with its message's schema when the role replays it.
 */
export const readChunk = (text: string, where: string, location: string): ReadonlyArray<Logged> => {
  const chunk = readJson(text, where, location)
  const bad = (detail: string) => new StorageCorrupt({ location, detail: `${where} does not decode (${detail})` })
  if (!Array.isArray(chunk)) throw bad("not an array of messages")
  for (let i = 0; i < chunk.length; i++) {
    const m = chunk[i] as unknown
    if (!Array.isArray(m) || m.length !== 3 || typeof m[0] !== "number" || typeof m[1] !== "string")
      throw bad(`message ${i} is not [number, label, payload]`)
  }
  return chunk as ReadonlyArray<Logged>
}

/** Builds a value from stored rows; a column that does not decode fails it with its `StorageCorrupt`. */
export const decoding = <A>(build: () => A): Effect.Effect<A, StorageCorrupt> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(build())
    } catch (error) {
      if (error instanceof StorageCorrupt) return Effect.fail(error)
      throw error // a bug, not the data: a defect
    }
  })
