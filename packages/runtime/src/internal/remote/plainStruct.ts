/**
 * Plain structs: messages whose fields are strings, numbers, booleans and literals without checks or
 * transformations. Such a message is its own JSON payload: it is checked in place instead of encoded or decoded,
 * and its JSON is written field by field straight into the transport's bytes (the same text as `JSON.stringify`).
 */
import type { Envelope } from "@troupe/transport"
import { Schema, type SchemaAST } from "effect"

type PayloadWriter = Envelope.PayloadWriter

/**
 * A check that a value is its own encoded and decoded form under the schema of `ast` (see {@link isPlain}): a
 * string, number, boolean, null or literal without checks or transformations, a plain struct, and (so that a large
 * payload costs one walk, not the Schema's parser per value: ~2 us per key of a 200,000-key record) a struct whose
 * fields are such values, a record of string keys or an array of them, a union of them, and `Schema.Json` or
 * `Schema.Unknown` holding JSON (plain objects and arrays, finite numbers, no undefined, nested at most 128 deep).
 * Undefined for any other schema (its values go through the Schema).
 */
export const plainCheck = (ast: SchemaAST.AST): ((u: unknown) => boolean) | undefined => checkOf(ast, false)

/** {@link plainCheck}; `field`: the type of a struct's field, whose context (optional, mutable) changes nothing here. */
const checkOf = (ast: SchemaAST.AST, field: boolean): ((u: unknown) => boolean) | undefined => {
  if (ast.checks !== undefined || ast.encoding !== undefined || (!field && ast.context !== undefined)) return undefined
  switch (ast._tag) {
    case "String":
      return (u) => typeof u === "string"
    case "Number":
      return (u) => typeof u === "number"
    case "Boolean":
      return (u) => typeof u === "boolean"
    case "Null":
      return (u) => u === null
    case "Literal": {
      const literal = ast.literal
      return typeof literal === "bigint" ? undefined : (u) => u === literal
    }
    case "Unknown":
    case "Any":
      return (u) => isJsonValue(u, 0)
    case "Declaration":
      return ast === Schema.Json.ast ? (u) => isJsonValue(u, 0) : undefined
    case "Objects": {
      const fields = plainFields(ast)
      return fields !== undefined ? (u) => isPlain(fields, u) : nestedCheck(ast)
    }
    case "Arrays": {
      if (ast.elements.length > 0 || ast.rest.length !== 1 || ast.encodingChecks !== undefined) return undefined
      const item = plainCheck(ast.rest[0]!)
      return item === undefined ? undefined : (u) => Array.isArray(u) && everyItem(u, item)
    }
    case "Union": {
      const members = ast.types.map(plainCheck)
      if (ast.encodingChecks !== undefined || members.some((m) => m === undefined)) return undefined
      const checks = members as ReadonlyArray<(u: unknown) => boolean>
      return (u) => checks.some((check) => check(u))
    }
    default:
      return undefined
  }
}

/** An object made by a literal or `JSON.parse` (its prototype `Object.prototype`): what a Schema struct decodes to. */
const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && Object.getPrototypeOf(u) === Object.prototype

/** The deepest a JSON payload nests (the transport's `MAX_PAYLOAD_DEPTH`). */
const MAX_DEPTH = 128

/** Whether `u` is JSON as the wire carries it, nested at most `MAX_DEPTH - depth` deep. */
const isJsonValue = (u: unknown, depth: number): boolean => {
  switch (typeof u) {
    case "string":
    case "boolean":
      return true
    case "number":
      return Number.isFinite(u)
    case "object": {
      if (u === null) return true
      if (depth >= MAX_DEPTH) return false
      if (Array.isArray(u)) {
        for (let i = 0; i < u.length; i++) if (!isJsonValue(u[i], depth + 1)) return false
        return true
      }
      if (Object.getPrototypeOf(u) !== Object.prototype) return false
      const record = u as Record<string, unknown>
      for (const key in record) if (!isJsonValue(record[key], depth + 1)) return false
      return true
    }
    default:
      return false
  }
}

const everyItem = (u: ReadonlyArray<unknown>, item: (u: unknown) => boolean): boolean => {
  for (let i = 0; i < u.length; i++) if (!item(u[i])) return false
  return true
}

/**
 * The check of a struct whose fields are checked by {@link plainCheck} (exactly its fields, as {@link isPlain}), or
 * of a record of string keys whose values are; undefined for any other object schema.
 */
const nestedCheck = (ast: SchemaAST.Objects): ((u: unknown) => boolean) | undefined => {
  if (ast.encodingChecks !== undefined) return undefined
  if (ast.propertySignatures.length === 0 && ast.indexSignatures.length === 1) {
    const signature = ast.indexSignatures[0]!
    const key = signature.parameter
    if (key._tag !== "String" || key.checks !== undefined || key.encoding !== undefined) return undefined
    const value = plainCheck(signature.type)
    if (value === undefined) return undefined
    return (u) => {
      if (!isPlainObject(u)) return false
      const record = u
      for (const name in record) if (!value(record[name])) return false
      return true
    }
  }
  if (ast.indexSignatures.length > 0) return undefined
  const fields: Array<{ readonly name: string; readonly optional: boolean; readonly check: (u: unknown) => boolean }> =
    []
  for (const property of ast.propertySignatures) {
    if (typeof property.name !== "string") return undefined
    const optional = property.type.context?.isOptional === true
    const check = checkOf(property.type, true)
    if (check === undefined) return undefined
    fields.push({ name: property.name, optional, check })
  }
  return (u) => {
    if (!isPlainObject(u)) return false
    const record = u
    let present = 0
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!
      const value = record[field.name]
      if (value === undefined && field.optional && !Object.hasOwn(record, field.name)) continue
      if (!field.check(value)) return false
      present++
    }
    let keys = 0
    for (const _ in record) keys++
    return keys === present
  }
}

/** A field of a plain struct: a string, number, boolean or literal, without checks or transformations. */
export interface PlainField {
  readonly name: string
  readonly type: "string" | "number" | "boolean" | "literal"
  readonly literal: unknown
  readonly optional: boolean
}

/** The fields of a struct whose encoded form is the value itself (see {@link isPlain}); undefined otherwise. */
export const plainFields = (ast: SchemaAST.AST): ReadonlyArray<PlainField> | undefined => {
  if (
    ast._tag !== "Objects" ||
    ast.checks !== undefined ||
    ast.encoding !== undefined ||
    ast.context !== undefined ||
    ast.indexSignatures.length > 0
  ) {
    return undefined
  }
  const fields: Array<PlainField> = []
  for (const property of ast.propertySignatures) {
    const type = property.type
    if (typeof property.name !== "string" || type.checks !== undefined || type.encoding !== undefined) return undefined
    const kind =
      type._tag === "String"
        ? "string"
        : type._tag === "Number"
          ? "number"
          : type._tag === "Boolean"
            ? "boolean"
            : type._tag === "Literal" && typeof type.literal !== "bigint"
              ? "literal"
              : undefined
    if (kind === undefined) return undefined
    fields.push({
      name: property.name,
      type: kind,
      literal: type._tag === "Literal" ? type.literal : undefined,
      optional: type.context?.isOptional === true
    })
  }
  return fields
}

/**
 * Whether `u` is already what the plain struct's Schema would decode it to (or encode it to): a plain object
 * with exactly the struct's fields, each of its type. Then the Schema's parser, which would build the same
 * object again, is skipped (the hot path of remote messages); anything else goes to the Schema.
 */
export const isPlain = (fields: ReadonlyArray<PlainField>, u: unknown): boolean => {
  if (!isPlainObject(u)) return false
  const record = u
  let present = 0
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!
    const value = record[field.name]
    if (value === undefined) {
      if (field.optional && !Object.hasOwn(record, field.name)) continue
      return false
    }
    if (field.type === "literal" ? value !== field.literal : typeof value !== field.type) return false
    present++
  }
  let keys = 0
  for (const _ in record) keys++
  return keys === present
}

/** A plain field's value as JSON, or undefined when it is not of the field's type (or a number JSON cannot hold). */
const valueJson = (field: PlainField, value: unknown): string | undefined => {
  switch (field.type) {
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? `${value}` : undefined
    case "string":
      return typeof value === "string" ? JSON.stringify(value) : undefined
    case "boolean":
      return typeof value === "boolean" ? (value ? "true" : "false") : undefined
    case "literal":
      return value === field.literal ? JSON.stringify(value) : undefined
  }
}

/** The JSON of a plain struct, field by field (keys in the fields' order); undefined when it is not plain. */
const plainJson = (fields: ReadonlyArray<PlainField>, keys: ReadonlyArray<string>, record: Record<string, unknown>) => {
  let json = "{"
  let present = 0
  for (let i = 0; i < fields.length; i++) {
    const value = record[fields[i]!.name]
    if (value === undefined && fields[i]!.optional && !Object.hasOwn(record, fields[i]!.name)) continue
    const written = valueJson(fields[i]!, value)
    if (written === undefined) return undefined
    json += (present++ > 0 ? "," : "") + keys[i] + written
  }
  let count = 0
  for (const _ in record) count++
  return count === present ? `${json}}` : undefined
}

const utf8 = new TextEncoder()
const QUOTE = 0x22
const TRUE = utf8.encode("true")
const FALSE = utf8.encode("false")
/** The most characters a finite number's JSON takes (`-1.2345678901234567e-308`: 24). */
const NUMBER_CHARS = 32

/** Copies `bytes` into `into` at `at`; returns where they end (a loop for up to 4 bytes: cheaper than a call to `set`). */
const copy = (bytes: Uint8Array, into: Uint8Array, at: number): number => {
  const length = bytes.length
  if (length > 4) into.set(bytes, at)
  else for (let i = 0; i < length; i++) into[at + i] = bytes[i]!
  return at + length
}

/**
 * Writes a finite number's JSON (`JSON.stringify`'s text: its shortest round-trip form, `0` for -0) at `at`;
 * returns where it ends, or -2 for a number JSON cannot hold. An integer of up to 31 bits is written digit by
 * digit (no string made); any other number as its string (ASCII), which is exact.
 */
export const writeNumber = (value: number, into: Uint8Array, at: number): number => {
  let n = value
  if ((n | 0) === n) {
    // -0 is 0 here, as in JSON.stringify (-2 ** 31 becomes 2 ** 31: its tenth still fits `| 0`)
    if (n < 0) {
      into[at++] = 0x2d // "-"
      n = -n
    }
    let end = at + 1
    for (let power = 10; n >= power && power <= 1e9; power *= 10) end++
    for (let i = end - 1; i >= at; i--) {
      const q = (n / 10) | 0
      into[i] = 0x30 + n - q * 10
      n = q
    }
    return end
  }
  return Number.isFinite(n) ? writeAscii(`${n}`, into, at) : -2
}

const writeAscii = (text: string, into: Uint8Array, at: number): number => {
  for (let i = 0; i < text.length; i++) into[at + i] = text.charCodeAt(i)
  return at + text.length
}

/**
 * Writes a string's JSON at `at` (`JSON.stringify`'s text in UTF-8); returns where it ends, or -1 when it may not
 * fit before `end`. A short string of printable ASCII without `"` or `\\` is written character by character; any
 * other goes through `JSON.stringify` (escapes, lone surrogates) and a UTF-8 write (at most 3 bytes per character).
 */
export const writeString = (value: string, into: Buffer, at: number, end: number): number => {
  const length = value.length
  if (length <= 64) {
    if (at + length + 2 > end) return -1
    into[at] = QUOTE
    let i = 0
    for (; i < length; i++) {
      const c = value.charCodeAt(i)
      if (c < 0x20 || c === QUOTE || c === 0x5c || c > 0x7e) break
      into[at + 1 + i] = c
    }
    if (i === length) {
      into[at + length + 1] = QUOTE
      return at + length + 2
    }
  }
  return writeText(JSON.stringify(value), into, at, end)
}

/** Writes JSON text in UTF-8 at `at`; returns where it ends, or -1 when it may not fit before `end`. */
const writeText = (json: string, into: Buffer, at: number, end: number): number =>
  at + 3 * json.length > end && at + Buffer.byteLength(json) > end ? -1 : at + into.write(json, at, "utf8")

/**
 * The {@link PayloadWriter} of a plain struct with `fields`: writes what `JSON.stringify` writes for a message that
 * {@link isPlain} accepts (keys in the fields' order; the caller vouches that it is plain), or -2 when a number in
 * it is not finite (the transport then refuses the payload, as it does `JSON.stringify`'s `null`s).
 *
 * @example
 * ```ts
 * const write = plainWriter(plainFields(Tick.ast)!)
 * const into = Buffer.alloc(64)
 * into.toString("utf8", 0, write({ _tag: "Tick", n: 1 }, into, 0, 64)) // '{"_tag":"Tick","n":1}'
 * ```
 */
export const plainWriter = (fields: ReadonlyArray<PlainField>): PayloadWriter => {
  const keys = fields.map((field) => `${JSON.stringify(field.name)}:`)
  // with every field present (the usual case): the bytes before each field that is not a literal, literals folded in
  const heads: Array<Uint8Array> = []
  const valued: Array<PlainField> = []
  let text = "{"
  for (let i = 0; i < fields.length; i++) {
    text += (i > 0 ? "," : "") + keys[i]
    if (fields[i]!.type === "literal") text += JSON.stringify(fields[i]!.literal)
    else {
      heads.push(utf8.encode(text))
      valued.push(fields[i]!)
      text = ""
    }
  }
  const tail = utf8.encode(`${text}}`)
  return (payload, into, at, end) => {
    const record = payload as Record<string, unknown>
    for (let i = 0; i < valued.length; i++) {
      const field = valued[i]!
      const value = record[field.name]
      if (value === undefined) {
        // an optional field left out: field by field
        const json = plainJson(fields, keys, record)
        return json === undefined ? -2 : writeText(json, into, at, end)
      }
      const head = heads[i]!
      if (at + head.length + NUMBER_CHARS > end) return -1
      at = copy(head, into, at)
      if (field.type === "number") {
        if (typeof value !== "number") return -2
        at = writeNumber(value, into, at)
        if (at < 0) return -2
      } else if (field.type === "boolean") {
        if (typeof value !== "boolean") return -2
        at = copy(value ? TRUE : FALSE, into, at)
      } else {
        if (typeof value !== "string") return -2
        at = writeString(value, into, at, end)
        if (at < 0) return -1
      }
    }
    return at + tail.length > end ? -1 : copy(tail, into, at)
  }
}
