/** Effect Schema <-> OpenAI strict JSON Schema, and decoding model output with issues. */
import { Effect, type JsonSchema, Schema, SchemaAST, SchemaIssue } from "effect"
import * as OpenAiStructuredOutput from "effect/ai/OpenAiStructuredOutput"
import { InvalidOutput, type Issue } from "../LlmError.ts"

/** A schema as OpenAI strict mode wants it, and the codec that decodes what the model wrote. */
export interface Strict {
  readonly jsonSchema: JsonSchema.JsonSchema
  readonly codec: Schema.ConstraintCodec<unknown, unknown>
}

const cache = new WeakMap<object, Strict>()

/**
 * Converts a schema for strict mode: every property required, `additionalProperties: false`, optional
 * fields as required nullable ones (the codec turns `null` back into an absent key). The root must be an
 * object; anything else is a programming error (a defect).
 */
export const strict = (schema: Schema.Codec<unknown, unknown>): Strict => {
  let found = cache.get(schema)
  if (!found) {
    const { ast } = schema
    // no parameters: `Schema.Struct({})` (which also accepts arrays, so the converter refuses it)
    found =
      SchemaAST.isObjects(ast) && ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0
        ? {
            codec: schema,
            jsonSchema: { type: "object", properties: {}, required: [], additionalProperties: false }
          }
        : OpenAiStructuredOutput.toCodecOpenAI(schema)
    cache.set(schema, found)
  }
  return found
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const renderPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string =>
  (path ?? [])
    .map((segment) => (typeof segment === "object" ? segment.key : segment))
    .map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join("")

/** The issues of a schema error as `{ path, message }` pairs. */
export const issuesOf = (error: Schema.SchemaError): ReadonlyArray<Issue> =>
  formatter(error.issue).issues.map((issue) => ({ path: renderPath(issue.path), message: issue.message }))

/** Issues as lines a model (or a person) can read. */
export const describeIssues = (issues: ReadonlyArray<Issue>): string =>
  issues.map((issue) => (issue.path ? `- at ${issue.path}: ${issue.message}` : `- ${issue.message}`)).join("\n")

/** Parses JSON text and decodes it with a codec; any failure is an {@link InvalidOutput} with its issues. */
export const decodeJson = <A>(
  codec: Schema.ConstraintCodec<A, unknown>,
  raw: string,
  what: string
): Effect.Effect<A, InvalidOutput> =>
  Effect.try({
    try: () => JSON.parse(raw) as unknown,
    catch: (e) => {
      const reason = e instanceof Error ? e.message : String(e)
      return new InvalidOutput({
        message: `${what} is not valid JSON: ${reason}`,
        raw,
        issues: [{ path: "", message: reason }]
      })
    }
  }).pipe(
    Effect.flatMap((json) => Schema.decodeUnknownEffect(codec, { errors: "all" })(json)),
    Effect.mapError((e) => {
      if (e._tag === "InvalidOutput") return e
      const issues = issuesOf(e)
      return new InvalidOutput({
        message: `${what} did not match the schema:\n${describeIssues(issues)}`,
        raw,
        issues
      })
    })
  )
