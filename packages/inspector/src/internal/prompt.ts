/**
 * Asking a person at a terminal: a question of a desk (a move, an approval) turned into prompts, and the
 * answer read back. Values are read field by field from the JSON Schema of what is asked.
 */
import type { Desk } from "@troupe/runtime"
import { Effect, type Terminal } from "effect"

/** A terminal's lines: what to show, and the next line typed. */
export interface Io {
  readonly display: (text: string) => Effect.Effect<void>
  readonly readLine: Effect.Effect<string, Terminal.QuitError>
  /** Whether what is typed shows by itself (a terminal) or should be echoed (a pipe). */
  readonly echoes: boolean
}

type Schema = { readonly [key: string]: unknown }

/** Prompts until a line passes `parse`. */
const ask = <A>(io: Io, prompt: string, parse: (line: string) => A | Error): Effect.Effect<A, Terminal.QuitError> =>
  Effect.gen(function* () {
    for (;;) {
      yield* io.display(prompt)
      const line = (yield* io.readLine).trim()
      if (!io.echoes) yield* io.display(`${line}\n`)
      const parsed = parse(line)
      if (!(parsed instanceof Error)) return parsed
      yield* io.display(`  ${parsed.message}\n`)
    }
  })

/** The main type of a schema (Effect writes numbers as `anyOf: [number, "Infinity"...]`). */
const mainOf = (schema: Schema): Schema => {
  const options = Array.isArray(schema.anyOf) ? (schema.anyOf as ReadonlyArray<Schema>) : [schema]
  return (
    options.find((o) => o.type !== undefined && o.type !== "null" && !(o.type === "string" && o.enum)) ?? options[0]!
  )
}

/** Reads a value of a JSON Schema, field by field; `initial` is offered as the default. */
export const readValue = (
  io: Io,
  schema: Schema,
  name: string,
  initial?: unknown
): Effect.Effect<unknown, Terminal.QuitError> => {
  const main = mainOf(schema)
  const hint = initial === undefined ? "" : ` [${JSON.stringify(initial)}]`
  const orInitial = (line: string) => line === "" && initial !== undefined
  if (main.type === "null") return Effect.succeed(null)
  if (Array.isArray(main.enum) || main.const !== undefined) {
    const options = (main.enum as ReadonlyArray<unknown> | undefined) ?? [main.const]
    const list = options.map((o, i) => `${i + 1}) ${JSON.stringify(o)}`).join("  ")
    return ask(io, `${name} (${list})${hint}: `, (line) => {
      if (orInitial(line)) return initial
      const n = Number(line)
      return Number.isInteger(n) && n >= 1 && n <= options.length
        ? options[n - 1]
        : (options.find((o) => String(o) === line) ?? new Error(`choose 1 to ${options.length}`))
    })
  }
  switch (main.type) {
    case "string":
      return ask(io, `${name} (text)${hint}: `, (line) => (orInitial(line) ? initial : line))
    case "number":
    case "integer":
      return ask(io, `${name} (${main.type})${hint}: `, (line) => {
        if (orInitial(line)) return initial
        const n = Number(line)
        return line !== "" && Number.isFinite(n) && (main.type === "number" || Number.isInteger(n))
          ? n
          : new Error(`type a ${main.type}`)
      })
    case "boolean":
      return ask(io, `${name} (y/n)${hint}: `, (line) =>
        orInitial(line) ? initial : /^y(es)?$/i.test(line) ? true : /^no?$/i.test(line) ? false : new Error("y or n")
      )
    case "object": {
      const properties = (main.properties ?? {}) as Readonly<Record<string, Schema>>
      const required = new Set((main.required as ReadonlyArray<string> | undefined) ?? [])
      return Effect.gen(function* () {
        const out: Record<string, unknown> = {}
        for (const [key, sub] of Object.entries(properties)) {
          const current = (initial as Record<string, unknown> | undefined)?.[key]
          const value = yield* readValue(io, sub, name.trim() === "" ? `${name}${key}` : `${name}.${key}`, current)
          if (required.has(key) || (value !== "" && value !== undefined)) out[key] = value
        }
        return out
      })
    }
    default:
      return ask(io, `${name} (JSON)${hint}: `, (line) => {
        if (orInitial(line)) return initial
        try {
          return JSON.parse(line) as unknown
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error))
        }
      })
  }
}

interface MoveDetail {
  readonly who: string
  readonly instructions: string | null
  readonly received: ReadonlyArray<{ readonly from: string; readonly label: string; readonly payload: unknown }>
  readonly moves: ReadonlyArray<{
    readonly to: string
    readonly label: string
    readonly move: string
    readonly schema: Schema
  }>
}

interface ApprovalDetail {
  readonly agent: string
  readonly tool: string
  readonly arguments: unknown
  readonly schema: Schema
}

/** Asks a person the question, at the terminal; answers what to send to the desk. */
export const answer = (io: Io, question: Desk.Question): Effect.Effect<unknown, Terminal.QuitError> =>
  Effect.gen(function* () {
    yield* io.display(`\n${question.title}\n`)
    if (question.kind === "move") {
      const detail = question.detail as MoveDetail
      if (detail.instructions) yield* io.display(`  ${detail.instructions}\n`)
      const moves = detail.moves
      yield* io.display(`  Your move: ${moves.map((m, i) => `${i + 1}) ${m.move}`).join("  ")}\n`)
      const chosen = yield* ask(io, "  move> ", (line) => {
        const n = Number(line)
        return (
          (Number.isInteger(n) ? moves[n - 1] : moves.find((m) => m.label === line)) ??
          new Error(`choose 1 to ${moves.length} (only these moves are legal now)`)
        )
      })
      const payload = yield* readValue(io, chosen.schema, `  ${chosen.label}`)
      return { label: chosen.label, payload }
    }
    if (question.kind === "approval") {
      const detail = question.detail as ApprovalDetail
      const choice = yield* ask(io, "  [a]pprove, [e]dit arguments, [r]efuse > ", (line) =>
        /^a/i.test(line) ? "approve" : /^e/i.test(line) ? "edit" : /^r/i.test(line) ? "refuse" : new Error("a, e or r")
      )
      if (choice === "approve") return { decision: "approve" }
      if (choice === "edit")
        return { decision: "edit", arguments: yield* readValue(io, detail.schema, "  ", detail.arguments) }
      const reason = yield* ask(io, "  why (the model reads it)> ", (line) => line)
      return reason === "" ? { decision: "refuse" } : { decision: "refuse", reason }
    }
    yield* io.display(`  ${JSON.stringify(question.detail)}\n`)
    return yield* readValue(io, {}, "  answer")
  })
