/** The step builder handed to the body of `Choreography.make` (the `$` of `$.message(...)`). */
import type { Builder, End, Protocol, Steps } from "../Choreography.ts"
import { isRecursive, renameSteps, unfoldRecursion } from "./inclusion.ts"
import { callerOf, noted } from "./site.ts"

const end: End = { _tag: "End" }

/** What `$.self` stands for: the protocol being defined (see `Builder.self`). */
const SELF: Protocol<string, string, Steps> = {
  _tag: "Protocol",
  name: "self",
  roles: [],
  steps: [],
  localTypes: new Map(),
  machines: new Map(),
  restartable: new Set(),
  families: new Set()
}

/**
 * The steps a protocol stands for where it is included: a recursive one unfolded into its own loops first,
 * so that its `$.self` goes on meaning it, not the protocol that includes it.
 */
const ownSteps = (protocol: Protocol<string, string, Steps>): Steps => {
  if (!isRecursive(protocol.steps)) return protocol.steps
  const unfolded = unfoldRecursion(protocol.name, protocol.roles, protocol.steps)
  return "steps" in unfolded ? unfolded.steps : protocol.steps
}

/**
 * The step constructors (see `Choreography.Builder`). With `locate`, each notes where it was called (see site.ts):
 * a few microseconds a step, so only the second run of a body whose protocol has problems does (see definition.ts).
 */
const stepBuilder = (locate: boolean): Builder<string> => {
  const b: Builder<string> = {
    message: (from, to, label, payload) =>
      noted({ _tag: "Message", from, to, label, payload }, locate ? callerOf(b.message) : undefined),
    choice: (at, branches) => noted({ _tag: "Choice", at, branches }, locate ? callerOf(b.choice) : undefined),
    loop: (name, body) => noted({ _tag: "Loop", name, body }, locate ? callerOf(b.loop) : undefined),
    continue: (name) => noted({ _tag: "Continue", name }, locate ? callerOf(b.continue) : undefined),
    end,
    parallel: (...parts) => noted({ _tag: "Parallel", parts }, locate ? callerOf(b.parallel) : undefined),
    include: (protocol, roles) => {
      const mapping: Record<string, string> = { ...roles }
      const at = locate ? callerOf(b.include) : undefined
      if (protocol === SELF)
        return noted({ _tag: "Include", protocol: "self", roles: mapping, body: [], recursive: true }, at) as never
      return noted(
        {
          _tag: "Include",
          protocol: protocol.name,
          roles: mapping,
          body: renameSteps(ownSteps(protocol), (r) => mapping[r] ?? r)
        },
        at
      ) as never
    },
    get self() {
      return SELF
    }
  }
  return b
}

/** The step constructors. */
export const builder: Builder<string> = stepBuilder(false)

/** The step constructors that note where each step was written. */
export const locatingBuilder: Builder<string> = stepBuilder(true)
