/**
 * Payload schemas compared by structure: the same `Schema.Struct` written inline twice is one payload.
 *
 * Two schemas are the same payload when their ASTs have the same shape: the same node kinds, literals,
 * property names and optionality, elements, members, and the same checks and transformations. A check
 * or a declaration that describes itself (`representation`, as Effect's built-in checks and types do)
 * compares by that description; anything else that is code (a custom filter, a transformation, a class)
 * compares by identity, since two functions cannot be compared.
 */
import type { Schema, SchemaAST } from "effect"

const keys = new WeakMap<SchemaAST.AST, string>()
const tokens = new WeakMap<object, number>()
const symbols = new Map<symbol, number>()
let nextToken = 0

/** A number that stands for one object (or symbol) for as long as it lives. */
const token = (o: object | symbol): number => {
  if (typeof o === "symbol") {
    let t = symbols.get(o)
    if (t === undefined) symbols.set(o, (t = nextToken++))
    return t
  }
  let t = tokens.get(o)
  if (t === undefined) tokens.set(o, (t = nextToken++))
  return t
}

const literal = (u: unknown): string =>
  typeof u === "bigint" ? `${u}n` : typeof u === "symbol" ? `@${token(u)}` : (JSON.stringify(u) ?? String(u))

interface Described {
  readonly representation?: { readonly id?: unknown; readonly payload?: unknown }
}

/** How a check or declaration describes itself, when it does. */
const described = (annotations: unknown): string | undefined => {
  const rep = (annotations as Described | undefined)?.representation
  if (rep === undefined || typeof rep.id !== "string") return undefined
  try {
    return `${rep.id}${JSON.stringify(rep.payload ?? null)}`
  } catch {
    return undefined
  }
}

const checkKey = (check: SchemaAST.Check<unknown>): string =>
  check._tag === "FilterGroup"
    ? `group(${check.checks.map(checkKey).join(",")})`
    : (described(check.annotations) ?? `filter@${token(check)}`)

const extras = (ast: SchemaAST.AST): string => {
  const parts: Array<string> = []
  if (ast.checks !== undefined) parts.push(`checks(${ast.checks.map(checkKey).join(",")})`)
  if (ast.encoding !== undefined)
    parts.push(`encoding(${ast.encoding.map((link) => `${token(link.transformation)}>${key(link.to)}`).join(",")})`)
  if (ast.context !== undefined)
    parts.push(`ctx(${ast.context.isOptional ? "?" : ""}${ast.context.isMutable ? "m" : ""})`)
  return parts.length === 0 ? "" : `[${parts.join(";")}]`
}

const key = (ast: SchemaAST.AST): string => {
  const known = keys.get(ast)
  if (known !== undefined) return known
  const made = shape(ast) + extras(ast)
  keys.set(ast, made)
  return made
}

const shape = (ast: SchemaAST.AST): string => {
  switch (ast._tag) {
    case "Literal":
      return `lit(${literal(ast.literal)})`
    case "UniqueSymbol":
      return `sym(${token(ast.symbol)})`
    case "Enum":
      return `enum(${ast.enums.map(([name, value]) => `${JSON.stringify(name)}=${literal(value)}`).join(",")})`
    case "TemplateLiteral":
      return `tpl(${ast.parts.map(key).join(",")})`
    case "Arrays":
      return `arr(${ast.isMutable ? "m" : ""}${ast.elements.map(key).join(",")}|${ast.rest.map(key).join(",")})`
    case "Objects":
      return `obj(${ast.propertySignatures
        .map((p) => `${typeof p.name === "symbol" ? `@${token(p.name)}` : JSON.stringify(p.name)}:${key(p.type)}`)
        .join(",")}|${ast.indexSignatures.map((i) => `${key(i.parameter)}:${key(i.type)}`).join(",")})`
    case "Union":
      return `union(${ast.options?.mode ?? "anyOf"}:${ast.types.map(key).join(",")})`
    case "Declaration":
      return `decl(${described(ast.annotations) ?? `@${token(ast.run)}`}:${ast.typeParameters.map(key).join(",")})`
    case "Suspend":
      // A recursive schema: compared by identity (its structure would not end).
      return `suspend@${token(ast)}`
    default:
      return ast._tag
  }
}

/** A key equal for two schemas exactly when they are the same payload (see the module documentation). */
export const schemaKey = (schema: Schema.Top): string => key(schema.ast)
