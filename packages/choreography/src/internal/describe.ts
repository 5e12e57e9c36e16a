import { type Schema, SchemaAST } from "effect"

/** A short, TypeScript-like description of what a schema accepts, for printing protocols. Empty for void. */
export const describeSchema = (schema: Schema.Top): string => describeAst(schema.ast, 0)

const describeAst = (ast: SchemaAST.AST, depth: number): string => {
  const named = SchemaAST.resolveIdentifier(ast) ?? SchemaAST.resolveTitle(ast)
  if (named !== undefined) return named
  if (depth > 3) return "…"
  const inner = (a: SchemaAST.AST) => describeAst(a, depth + 1)
  switch (ast._tag) {
    case "Void":
      return ""
    case "Literal":
      return typeof ast.literal === "bigint" ? `${ast.literal}n` : JSON.stringify(ast.literal)
    case "Union":
      return ast.types.map(inner).join(" | ")
    case "Arrays":
      if (ast.elements.length === 0 && ast.rest.length === 1) return `${inner(ast.rest[0]!)}[]`
      return `[${[...ast.elements.map(inner), ...ast.rest.map((r) => `...${inner(r)}[]`)].join(", ")}]`
    case "Objects":
      return `{ ${[
        ...ast.propertySignatures.map(
          (p) => `${String(p.name)}${SchemaAST.isOptional(p.type) ? "?" : ""}: ${inner(p.type)}`
        ),
        ...ast.indexSignatures.map((i) => `[key: ${inner(i.parameter)}]: ${inner(i.type)}`)
      ].join(", ")} }`
    case "Declaration":
      return "object"
    case "Suspend":
      return "…"
    case "TemplateLiteral":
      return "string"
    case "UniqueSymbol":
      return "symbol"
    case "ObjectKeyword":
      return "object"
    default:
      return ast._tag.toLowerCase()
  }
}

/** `A!quote(number)` for a send to A, `A?buy(string)` for a receive from A. */
export const describeAction = (
  direction: "send" | "receive",
  peer: string,
  label: string,
  payload: Schema.Top | undefined
): string =>
  `${peer}${direction === "send" ? "!" : "?"}${label}${payload === undefined ? "" : `(${describeSchema(payload)})`}`
