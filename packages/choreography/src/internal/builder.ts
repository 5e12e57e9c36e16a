/** The step builder handed to the body of `Choreography.make` (the `$` of `$.message(...)`). */
import type { Builder, End, Protocol, Steps } from "../Choreography.ts"
import { isRecursive, renameSteps, unfoldRecursion } from "./inclusion.ts"

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

/** The step constructors (see `Choreography.Builder`). */
export const builder: Builder<string> = {
  message: (from, to, label, payload) => ({ _tag: "Message", from, to, label, payload }),
  choice: (at, branches) => ({ _tag: "Choice", at, branches }),
  loop: (name, body) => ({ _tag: "Loop", name, body }),
  continue: (name) => ({ _tag: "Continue", name }),
  end,
  parallel: (...parts) => ({ _tag: "Parallel", parts }),
  include: (protocol, roles) => {
    const mapping: Record<string, string> = { ...roles }
    if (protocol === SELF)
      return { _tag: "Include", protocol: "self", roles: mapping, body: [], recursive: true } as never
    return {
      _tag: "Include",
      protocol: protocol.name,
      roles: mapping,
      body: renameSteps(ownSteps(protocol), (r) => mapping[r] ?? r)
    } as never
  },
  get self() {
    return SELF
  }
}
