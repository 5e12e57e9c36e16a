/**
 * Plain structs: messages whose fields are strings, numbers, booleans and literals without checks or
 * transformations. Such a message is its own JSON payload: it is checked in place instead of encoded or decoded,
 * and its JSON is written field by field (the same text as `JSON.stringify`).
 */
import type { SchemaAST } from "effect"

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
  if (typeof u !== "object" || u === null || Object.getPrototypeOf(u) !== Object.prototype) return false
  const record = u as Record<string, unknown>
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

/** Whether `text` is ASCII (then its UTF-8 bytes are its length). */
const isAscii = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
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

/**
 * Writes the JSON of a plain struct with `fields` (what `JSON.stringify` would write for it, keys in the fields'
 * order), or returns undefined when the value is not plain (as {@link isPlain} decides) or a number in it is not
 * finite. Sets `bytes.last` to the JSON's UTF-8 bytes.
 */
export const plainJson = (fields: ReadonlyArray<PlainField>, bytes: { last: number }) => {
  const keys = fields.map((field) => `${JSON.stringify(field.name)}:`)
  // with every field present (the usual case), the text before each field that is not a literal, literals folded in
  const before: Array<string> = []
  let text = "{"
  for (let i = 0; i < fields.length; i++) {
    text += (i > 0 ? "," : "") + keys[i]
    if (fields[i]!.type === "literal") text += JSON.stringify(fields[i]!.literal)
    else {
      before.push(text)
      text = ""
    }
  }
  const end = `${text}}`
  // numbers and booleans are ASCII: the length is the byte count unless a key, literal or string is not
  const ascii = fields.every((field) => field.type !== "string") && isAscii(before.join("") + end)
  const count = (record: object): number => {
    let n = 0
    for (const _ in record) n++
    return n
  }
  const done = (json: string): string => {
    bytes.last = ascii ? json.length : Buffer.byteLength(json)
    return json
  }
  /** A struct with an optional field left out: field by field. */
  const sparse = (record: Record<string, unknown>): string | undefined => {
    let json = "{"
    let present = 0
    for (let i = 0; i < fields.length; i++) {
      const value = record[fields[i]!.name]
      if (value === undefined && fields[i]!.optional && !Object.hasOwn(record, fields[i]!.name)) continue
      const written = valueJson(fields[i]!, value)
      if (written === undefined) return undefined
      json += (present++ > 0 ? "," : "") + keys[i] + written
    }
    return count(record) === present ? done(`${json}}`) : undefined
  }
  return (u: unknown): string | undefined => {
    if (typeof u !== "object" || u === null || Object.getPrototypeOf(u) !== Object.prototype) return undefined
    const record = u as Record<string, unknown>
    let json = ""
    let at = 0
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!
      const value = record[field.name]
      if (value === undefined && field.optional && !Object.hasOwn(record, field.name)) return sparse(record)
      if (field.type === "literal") {
        if (value !== field.literal) return undefined
        continue
      }
      const written = valueJson(field, value)
      if (written === undefined) return undefined
      json += before[at++] + written
    }
    return count(record) === fields.length ? done(json + end) : undefined
  }
}
