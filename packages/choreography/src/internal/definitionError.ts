/** Why a protocol definition was refused: `Problem` and `ProtocolDefinitionError` (exported by `Choreography`). */
import { Schema } from "effect"

/** What a protocol definition is missing or gets wrong, one entry per problem. */
export const Problem = Schema.Struct({
  /** What kind of problem this is. */
  code: Schema.Literals([
    "InvalidName",
    "NoRoles",
    "InvalidRole",
    "DuplicateRole",
    "UnknownRole",
    "UnusedRole",
    "SelfMessage",
    "InvalidLabel",
    "MissingPayloadSchema",
    "InvalidStep",
    "EmptyChoice",
    "EmptyBranch",
    "ChooserNotFirst",
    "InconsistentChoiceReceiver",
    "DuplicateLabel",
    "BranchNameMismatch",
    "EmptyLoop",
    "ShadowedLoop",
    "UnknownLoop",
    "UnguardedRecursion",
    "UnreachableStep",
    "EmptyParallel",
    "OverlappingParallel",
    "EndInParallel",
    "ContinueOutOfParallel",
    "UnmergeableBranches",
    "NonTailRecursion",
    "FamilyMessage",
    "FamilyChoice",
    "InvalidFamilySize",
    "CheckFailed"
  ]),
  /** A sentence that says what is wrong and where. */
  message: Schema.String,
  /** Where in the protocol, outermost first (e.g. `["loop \"X\"", "choice at S", "branch \"Full\""]`). */
  path: Schema.Array(Schema.String),
  /** The role concerned, if any. */
  role: Schema.optionalKey(Schema.String),
  /** The choice branch concerned, if any. */
  branch: Schema.optionalKey(Schema.String),
  /** The message label concerned, if any. */
  label: Schema.optionalKey(Schema.String),
  /**
   * Where in its source file the step concerned was written (the builder call, e.g. `$.message(...)`), or for a
   * problem of the whole protocol, the `Choreography.make` call; absent where the JavaScript engine gives no
   * stack. `line` and `column` count from 1.
   */
  source: Schema.optionalKey(Schema.Struct({ file: Schema.String, line: Schema.Number, column: Schema.Number }))
})

/** One problem of a protocol definition. */
export type Problem = typeof Problem.Type

/** A protocol definition was refused; `problems` lists everything that is wrong, each naming its role, branch and label. */
export class ProtocolDefinitionError extends Schema.TaggedError<ProtocolDefinitionError>()("ProtocolDefinitionError", {
  protocol: Schema.String,
  problems: Schema.Array(Problem)
}) {
  override get message(): string {
    return `Protocol "${this.protocol}" is not well-formed:\n${this.problems
      .map(
        (p) =>
          `  - ${p.message}${p.source === undefined ? "" : `\n    at ${p.source.file}:${p.source.line}:${p.source.column}`}`
      )
      .join("\n")}`
  }
}
