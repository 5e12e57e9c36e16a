/**
 * Finite domains of payload schemas: what a role can choose when it sends a message, or nature can draw.
 */
import type { Schema, SchemaAST } from "effect"

/** The values a schema accepts when they are few and known (literals, booleans, enums, void); else `undefined`. */
export const finiteDomain = (schema: Schema.Top): ReadonlyArray<unknown> | undefined => ofAst(schema.ast)

const ofAst = (ast: SchemaAST.AST): ReadonlyArray<unknown> | undefined => {
  switch (ast._tag) {
    case "Void":
    case "Undefined":
      return [undefined]
    case "Null":
      return [null]
    case "Literal":
      return [ast.literal]
    case "Boolean":
      return [true, false]
    case "Enum":
      return ast.enums.map(([, value]) => value)
    case "Union": {
      const out: Array<unknown> = []
      for (const member of ast.types) {
        const values = ofAst(member)
        if (values === undefined) return undefined
        for (const v of values) if (!out.includes(v)) out.push(v)
      }
      return out
    }
    default:
      return undefined
  }
}

/** How a payload value is written in an action's name: `30`, `peach`, `{"a":1}`; nothing for void. */
export const showValue = (value: unknown): string =>
  value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)
